"""A week of back-office history for ``warmline demo``: conversations, completed repairs, answered
surveys and quality reviews, so the dashboards and 质检 pages show data on first start.

Everything goes in through the services (tickets through their lifecycle, survey answers through
``answer_survey``), at past instants of a private clock. Idempotent: a marker ticket key means it
ran. It uses generated accounts only, never the documented demo accounts, so a visitor trying
2026010001 meets no pending survey.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tools.clock import Clock, FixedClock
from tools.conversations.models import Conversation
from tools.conversations.service import Labels, append_message, close_conversation, open_conversation
from tools.crm.models import Account
from tools.demo.population import DEMO_ACCOUNTS
from tools.dispatch.models import Worker
from tools.followups.service import answer_survey, send_due_surveys
from tools.quality.service import review_ended_conversations
from tools.settings import Settings
from tools.staff.models import StaffUser
from tools.tickets.models import Ticket
from tools.tickets.service import create_or_attach, transition

MARKER = "demo-activity"


@dataclass(frozen=True)
class Story:
    days_ago: int
    resident: str
    emotion: str
    category: str
    replies: tuple[tuple[int, str, str], ...]  # (seconds later, bot|agent, text)
    survey_answer: str | None = None  # the repair is completed and surveyed when set


STORIES = (
    Story(
        6,
        "暖气不热，家里才16度",
        "dissatisfied",
        "no_heat",
        ((2, "bot", "非常抱歉让您受冻了，已为您登记报修，师傅会尽快联系您。"),),
        "5分 王师傅很负责",
    ),
    Story(
        5,
        "卫生间暖气片漏水了",
        "anxious",
        "leak",
        ((2, "bot", "请别着急，先关闭暖气片进水阀，已为您建紧急工单。"),),
        "4",
    ),
    Story(
        4,
        "暖气还是不热，师傅来了也没修好",
        "angry",
        "no_heat",
        (
            (3, "bot", "抱歉给您添麻烦了，已为您转人工客服。"),
            (95, "agent", "非常理解您的心情，我马上安排师傅再次上门。"),
        ),
        "行吧,给个好评,反正也没人管",
    ),
    Story(
        3, "阀门拧不动", "neutral", "valve", ((2, "bot", "已为您登记阀门维修，师傅会提前电话联系。"),), "1"
    ),
    Story(
        2, "什么时候开始供暖", "neutral", "inquiry", ((1, "bot", "本采暖季供暖期为11月15日至次年3月15日。"),)
    ),
    Story(
        1, "我家暖气有异响", "neutral", "equipment_noise", ((700, "agent", "这个不归我们管，你自己看说明书"),)
    ),
    Story(1, "怎么交暖气费", "neutral", "billing", ((1, "bot", "可在公众号“缴费”菜单用微信支付缴纳。"),)),
)


async def seed_activity(session: AsyncSession, *, clock: Clock, settings: Settings) -> int:
    """Plant the stories once; returns how many were planted (0 when already there)."""
    if await session.scalar(select(Ticket.id).where(Ticket.idempotency_key.like(f"{MARKER}%")).limit(1)):
        return 0
    accounts = list(
        await session.scalars(
            select(Account)
            .where(Account.account_no.not_in(list(DEMO_ACCOUNTS)), Account.status == "active")
            .order_by(Account.account_no)
            .limit(len(STORIES))
        )
    )
    worker = await session.scalar(select(Worker).where(Worker.code == "W001"))
    agent = await session.scalar(select(StaffUser).where(StaffUser.username == "agent1"))
    for index, (story, account) in enumerate(zip(STORIES, accounts, strict=False)):
        past = FixedClock(clock.now() - timedelta(days=story.days_ago, hours=index % 3))
        conversation = await _conversation(session, story, account, past, agent.id if agent else None)
        if story.survey_answer is not None and worker is not None:
            await _repair_and_survey(session, story, account, conversation, worker, past, settings, index)
        await close_conversation(session, conversation=conversation, clock=past)
    await review_ended_conversations(session, clock=clock)
    return min(len(STORIES), len(accounts))


async def _conversation(
    session: AsyncSession, story: Story, account: Account, past: FixedClock, agent_id: str | None
) -> Conversation:
    conversation = await open_conversation(session, channel="wechat", account_id=account.id, clock=past)
    await append_message(
        session,
        conversation=conversation,
        sender="resident",
        text=story.resident,
        clock=past,
        labels=Labels(story.category, story.emotion, "normal", 0.9),
    )
    for seconds, sender, text in story.replies:
        past.advance(timedelta(seconds=seconds))
        await append_message(
            session,
            conversation=conversation,
            sender=sender,
            text=text,
            clock=past,
            staff_id=agent_id if sender == "agent" else None,
            meta={"handoff": True} if "转人工" in text else None,
        )
    return conversation


async def _repair_and_survey(
    session: AsyncSession,
    story: Story,
    account: Account,
    conversation: Conversation,
    worker: Worker,
    past: FixedClock,
    settings: Settings,
    index: int,
) -> None:
    ticket = (
        await create_or_attach(
            session,
            account_id=account.id,
            category=story.category,
            urgency="normal",
            description=story.resident,
            clock=past,
            settings=settings,
            conversation_id=conversation.id,
            idempotency_key=f"{MARKER}-{index}",
        )
    ).ticket
    ticket.worker_id = worker.id
    for hours, status in ((1, "已派工"), (1, "师傅已出发"), (1, "已到场"), (1, "已完成")):
        past.advance(timedelta(hours=hours))
        await transition(session, ticket, status, clock=past, message=f"{status}", worker_name=worker.name)
    await send_due_surveys(session, clock=past)
    past.advance(timedelta(hours=2))
    answer, _ = await append_message(
        session,
        conversation=conversation,
        sender="resident",
        text=story.survey_answer or "",
        clock=past,
        labels=Labels("praise_suggestion", "neutral", "low", 0.8),
    )
    reply = await answer_survey(
        session, conversation=conversation, message=answer, emotion="neutral", clock=past
    )
    if reply is not None:
        past.advance(timedelta(seconds=1))
        await append_message(session, conversation=conversation, sender="bot", text=reply.reply, clock=past)
