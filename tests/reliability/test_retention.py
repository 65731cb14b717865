"""Time travel: content older than the retention period is gone after the purge, newer content intact.

A year and a half before "now" a resident chatted (full phone and ID number in the text), sent
photos, answered a survey, was quoted by quality inspection, got an agent's reply through the
outbox, failed a binding, and asked the bot something it could not answer; the agent's graph
checkpointed the thread. Ten days before "now" another conversation did the same, and a third
conversation spans both (an old message and a new one). The registered ``retention_purge`` job
then runs on the FixedClock. Every row older than the cut-off must hold no personal data and no
trace of the old conversation; every newer one must be exactly as written; files and checkpoints
follow the rows; the audit log keeps its old rows and gains one for the purge.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from langgraph.checkpoint.base import empty_checkpoint
from sqlalchemy import select

from agent.checkpoints import make_checkpointer
from backoffice.deps import AppServices
from backoffice.jobs import default_jobs
from evals.reliability.pii_scan import find_pii, id_check_char
from kb.models import HotTopic, UnansweredQuestion
from tools.audit import AuditLog, record_audit
from tools.conversations.models import Conversation, Message
from tools.conversations.service import append_message, open_conversation
from tools.crm.models import Account, BindingAttempt, ChannelIdentity
from tools.demo.seed import seed_demo
from tools.followups.models import Survey
from tools.outbox import OutboxMessage
from tools.quality.models import QualityReview
from tools.retention import PURGED_TEXT
from tools.tickets.models import Ticket, TicketAttachment

PHONE = "13987654321"
ID_NO = "11010519900307123" + id_check_char("11010519900307123")
NOW = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=540)
NEW = NOW - timedelta(days=10)


def _said(marker: str) -> str:
    return f"{marker}：我电话{PHONE}，身份证{ID_NO}，锦绣花园3号楼2单元501室暖气不热"


async def _plant(
    session, *, clock, settings, when: datetime, marker: str, account: Account
) -> dict[str, str]:
    """One resident's contact at ``when``: every kind of row and file the purge must handle."""
    clock.set(when)
    uploads = settings.uploads_dir
    day = when.strftime("%Y%m%d")
    identity = ChannelIdentity(channel="wechat", external_id=f"o{marker}", account_id=account.id)
    session.add(identity)
    await session.flush()
    conversation = await open_conversation(
        session,
        channel="wechat",
        clock=clock,
        identity_id=identity.id,
        account_id=account.id,
        token_hash="h" * 64,
    )
    conversation.handoff_summary = f"{marker} 住户要求人工，电话{PHONE}"
    chat_photo = f"{conversation.id}/{marker}.jpg"
    wechat_photo = f"wechat/{day}/{marker}.jpg"
    for relative in (chat_photo, wechat_photo, f"tickets/{marker}/photo.jpg"):
        (uploads / relative).parent.mkdir(parents=True, exist_ok=True)
        (uploads / relative).write_bytes(b"\xff\xd8\xff" + marker.encode())
    said, _ = await append_message(
        session,
        conversation=conversation,
        sender="resident",
        text=_said(marker),
        normalized_text=_said(marker),
        meta={"attachments": [chat_photo, wechat_photo]},
        clock=clock,
    )
    await append_message(
        session, conversation=conversation, sender="agent", text=f"{marker} 已记下{PHONE}", clock=clock
    )
    ticket = Ticket(
        ticket_no=f"T{marker}",
        account_id=account.id,
        conversation_id=conversation.id,
        category="no_heat",
        urgency="normal",
        description="暖气不热",
        address=account.address,
        sla_due_at=when + timedelta(days=1),
    )
    session.add(ticket)
    await session.flush()
    session.add_all(
        [
            TicketAttachment(
                ticket_id=ticket.id,
                path=f"tickets/{marker}/photo.jpg",
                content_type="image/jpeg",
                size=4,
                uploaded_at=when,
            ),
            Survey(
                ticket_id=ticket.id,
                account_id=account.id,
                conversation_id=conversation.id,
                status="answered",
                sent_at=when,
                expires_at=when + timedelta(days=3),
                answered_at=when,
                answer_message_id=said.id,
                answer_text=f"{marker} 五星，有事打{PHONE}",
                score=5,
            ),
            QualityReview(
                conversation_id=conversation.id,
                handler="agent",
                channel="wechat",
                score=60,
                rules=[{"rule": "personal_data", "evidence": [{"text": f"{marker} 已记下{PHONE}"}]}],
                scored_at=when,
                scored_through=when,
            ),
            OutboxMessage(
                created_at=when,
                kind="agent_reply",
                account_id=account.id,
                conversation_id=conversation.id,
                text=f"{marker} 已记下{PHONE}",
                payload={"to": f"o{marker}", "text": PHONE},
                status="sent",
                receipt={f"o{marker}": "sent"},
            ),
            BindingAttempt(identity_id=identity.id, account_no=account.account_no, success=False, at=when),
            UnansweredQuestion(
                question=f"{marker} 锦绣花园3号楼为什么不热",
                conversation_id=conversation.id,
                message_id=said.id,
                reason="abstained",
                asked_at=when,
            ),
            HotTopic(
                run_id=marker,
                mined_at=when,
                window_start=when - timedelta(days=7),
                window_end=when,
                label=f"{marker} 为什么不热",
                count=3,
                trend="up",
                examples=[f"{marker} 锦绣花园3号楼为什么不热"],
            ),
        ]
    )
    await record_audit(
        session,
        clock=clock,
        actor="staff:x",
        action="reveal_contact",
        target_type="account",
        target_id=account.id,
    )
    await session.flush()
    return {"conversation": conversation.id, "chat_photo": chat_photo, "wechat_photo": wechat_photo}


async def _checkpoint(settings, thread_id: str, text: str) -> None:
    checkpoint = empty_checkpoint()
    checkpoint["channel_values"] = {"messages": [text]}
    async with make_checkpointer(settings) as saver:
        await saver.aput({"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}, checkpoint, {}, {})


async def _checkpointed(settings, thread_id: str) -> bool:
    async with make_checkpointer(settings) as saver:
        return (
            await saver.aget_tuple({"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}})
            is not None
        )


# (model, the column saying when, the columns holding what a resident wrote or was told)
TEXT_TABLES = [
    (Message, Message.created_at, ("text", "normalized_text", "meta")),
    (Conversation, Conversation.last_message_at, ("handoff_summary", "token_hash")),
    (Survey, Survey.sent_at, ("answer_text",)),
    (QualityReview, QualityReview.scored_at, ("rules",)),
    (OutboxMessage, OutboxMessage.created_at, ("text", "payload", "receipt")),
    (UnansweredQuestion, UnansweredQuestion.asked_at, ("question",)),
    (HotTopic, HotTopic.mined_at, ("label", "examples")),
]


async def _old_and_new_texts(session, cutoff: datetime) -> tuple[list[str], list[str]]:
    old, new = [], []
    for model, when, columns in TEXT_TABLES:
        for row in await session.scalars(select(model)):
            text = json.dumps([getattr(row, c) for c in columns], ensure_ascii=False, default=str)
            (old if getattr(row, when.key) < cutoff else new).append(text)
    return old, new


async def test_the_purge_leaves_no_personal_data_older_than_the_retention_period(
    settings, clock, engine, sessions
) -> None:
    assert settings.retention_days == 365
    async with sessions() as session, session.begin():
        await seed_demo(session, clock=clock)
        accounts = list(await session.scalars(select(Account).order_by(Account.account_no).limit(3)))
        old = await _plant(
            session, clock=clock, settings=settings, when=OLD, marker="旧会话", account=accounts[0]
        )
        new = await _plant(
            session, clock=clock, settings=settings, when=NEW, marker="新会话", account=accounts[1]
        )
        clock.set(OLD)
        spanning = await open_conversation(session, channel="web", clock=clock, account_id=accounts[2].id)
        await append_message(
            session, conversation=spanning, sender="resident", text=_said("跨期旧"), clock=clock
        )
        clock.set(NEW)
        await append_message(
            session, conversation=spanning, sender="resident", text=_said("跨期新"), clock=clock
        )
    await _checkpoint(settings, old["conversation"], _said("旧会话"))
    await _checkpoint(settings, new["conversation"], _said("新会话"))
    await _checkpoint(settings, spanning.id, _said("跨期旧"))

    cutoff = NOW - timedelta(days=settings.retention_days)
    async with sessions() as session:
        old_before, new_before = await _old_and_new_texts(session, cutoff)
    assert sum(bool(list(find_pii(t))) for t in old_before) >= 6, "the old rows really held personal data"

    clock.set(NOW)
    purge = next(job for job in default_jobs() if job.name == "retention_purge")
    counts = await purge.run(AppServices(settings=settings, clock=clock, engine=engine, sessions=sessions))

    assert counts["messages"] == 3 and counts["attachments"] == 1 and counts["unanswered_questions"] == 1
    async with sessions() as session:
        old_texts, new_texts = await _old_and_new_texts(session, cutoff)
        assert old_texts and new_texts
        leaks = [t for t in old_texts if list(find_pii(t)) or "旧会话" in t or "跨期旧" in t or "501" in t]
        assert leaks == [], "personal data older than the retention period survived"
        assert sum(PURGED_TEXT in t for t in old_texts) >= 3
        kept = {m.text for m in await session.scalars(select(Message).where(Message.created_at >= cutoff))}
        assert kept == {_said("新会话"), "新会话 已记下" + PHONE, _said("跨期新")}, "newer messages intact"
        assert sorted(new_texts) == sorted(new_before), "every newer row exactly as written"
        recent = await session.get(Conversation, new["conversation"])
        assert recent.handoff_summary and recent.token_hash
        assert await session.scalar(select(Message.id).where(Message.conversation_id == old["conversation"]))
        assert not await session.scalar(select(BindingAttempt.id).where(BindingAttempt.at < cutoff))
        assert await session.scalar(select(BindingAttempt.id).where(BindingAttempt.at >= cutoff))
        assert [a.path for a in await session.scalars(select(TicketAttachment))] == [
            "tickets/新会话/photo.jpg"
        ]
        reveals = list(await session.scalars(select(AuditLog).where(AuditLog.action == "reveal_contact")))
        assert sorted(a.at for a in reveals) == [OLD, NEW], "the audit log keeps its old rows"
        purges = list(await session.scalars(select(AuditLog).where(AuditLog.action == "retention_purge")))
        assert len(purges) == 1 and purges[0].details["messages"] == 3
    uploads: Path = settings.uploads_dir
    assert not (uploads / old["chat_photo"]).exists() and not (uploads / old["wechat_photo"]).exists()
    assert not (uploads / "tickets/旧会话/photo.jpg").exists()
    assert not (uploads / old["wechat_photo"]).parent.exists(), "an old day's WeChat folder is swept"
    assert (uploads / new["chat_photo"]).exists() and (uploads / new["wechat_photo"]).exists()
    assert (uploads / "tickets/新会话/photo.jpg").exists()
    assert not await _checkpointed(settings, old["conversation"])
    assert not await _checkpointed(settings, spanning.id), "a thread holding expired text is forgotten"
    assert await _checkpointed(settings, new["conversation"])

    assert (
        await purge.run(AppServices(settings=settings, clock=clock, engine=engine, sessions=sessions)) is None
    )
