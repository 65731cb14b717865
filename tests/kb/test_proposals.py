"""Gaps, proposals and the approval flow: nothing enters the KB without an admin."""

from datetime import date

import pytest

from kb.gaps import recent_unanswered, record_unanswered, scrub
from kb.proposals import (
    Turn,
    approve_proposal,
    list_proposals,
    propose_from_agent_answers,
    propose_from_cluster,
    reject_proposal,
)
from kb.retriever import Scope
from tools.errors import Conflict, InvalidInput

TODAY = date(2026, 11, 22)


def _top(kb, query: str) -> str | None:
    passages = kb.search(query, scope=Scope(today=TODAY), k=3).passages
    return passages[0].document_id if passages else None


def test_scrub_leaves_no_phone_id_account_or_room_number() -> None:
    text = scrub(
        "电话13812345678，身份证110101199003071234，户号2026010001，住3号楼2单元501室，座机0310-5551234"
    )
    for secret in ("5678", "1234", "2026010001", "501", "13812345678"):
        assert secret not in text
    assert "【手机号】" in text and "【身份证号】" in text and "【户号】" in text and "X单元X室" in text


async def test_a_gap_is_recorded_once_per_message_and_reason_normalised_and_masked(session, clock) -> None:
    for _ in range(2):
        await record_unanswered(
            session,
            question="低保戶的暖氣費能減免嗎？我電話13812345678",
            message_id="m1",
            conversation_id="c1",
            reason="abstained",
            confidence=0.81,
            clock=clock,
        )
    rows = await recent_unanswered(session)
    assert len(rows) == 1
    assert rows[0].question.startswith("低保户的暖气费能减免吗") and "5678" not in rows[0].question


async def test_approved_proposal_becomes_a_searchable_faq_with_the_edited_answer(
    session, clock, fake_kb
) -> None:
    proposal, outcome = await propose_from_cluster(
        session,
        questions=["低保户暖气费能减免吗", "困难家庭采暖补贴怎么申请"],
        asked_count=7,
        kb=fake_kb,
        clock=clock,
    )
    assert outcome == "created" and proposal.status == "proposed"
    assert _top(fake_kb, "低保户暖气费能减免吗") is None  # proposed is not searchable
    with pytest.raises(InvalidInput):
        await approve_proposal(session, proposal.id, kb=fake_kb, clock=clock, actor="admin", answer=" ")
    decided, document = await approve_proposal(
        session,
        proposal.id,
        kb=fake_kb,
        clock=clock,
        actor="admin",
        answer="持低保证的家庭可到社区申请采暖补贴，电话13812345678。",
    )
    assert (
        decided.status == "approved" and decided.document_id == document.id and decided.decided_by == "admin"
    )
    assert document.kind == "faq" and document.status == "active" and "13812345678" not in document.content
    assert _top(fake_kb, "困难家庭采暖补贴怎么申请") == document.id
    with pytest.raises(Conflict):
        await approve_proposal(session, proposal.id, kb=fake_kb, clock=clock, actor="admin", answer="x")
    again, outcome = await propose_from_cluster(
        session, questions=["低保户暖气费能减免吗"], asked_count=3, kb=fake_kb, clock=clock
    )
    assert again.id == proposal.id and outcome == "decided"


async def test_rejected_proposal_never_becomes_searchable_nor_is_proposed_again(
    session, clock, fake_kb
) -> None:
    proposal, _ = await propose_from_cluster(
        session, questions=["你们招聘吗", "公司招不招人"], asked_count=4, kb=fake_kb, clock=clock
    )
    await reject_proposal(session, proposal.id, clock=clock, actor="admin", reason="与供热无关")
    assert proposal.status == "rejected" and proposal.decision_note == "与供热无关"
    with pytest.raises(Conflict):
        await approve_proposal(session, proposal.id, kb=fake_kb, clock=clock, actor="admin", answer="招")
    assert fake_kb.count() == 0
    _, outcome = await propose_from_cluster(
        session, questions=["公司招不招人"], asked_count=9, kb=fake_kb, clock=clock
    )
    assert outcome == "decided"
    assert await list_proposals(session) == []


async def test_rerun_of_a_topic_updates_its_draft_instead_of_duplicating(session, clock, fake_kb) -> None:
    first, _ = await propose_from_cluster(
        session, questions=["a问题", "b问题"], asked_count=3, kb=fake_kb, clock=clock
    )
    second, outcome = await propose_from_cluster(
        session, questions=["b问题", "c问题"], asked_count=5, kb=fake_kb, clock=clock
    )
    assert second.id == first.id and outcome == "updated"
    assert second.questions == ["a问题", "b问题", "c问题"] and second.asked_count == 5


def _conversation(category: str = "billing") -> list[Turn]:
    return [
        Turn("m1", "resident", "单位的暖气费能开增值税专用发票吗？我电话13812345678", category=category),
        Turn("m2", "bot", "抱歉，这个问题我不太确定，已为您转接人工客服。"),
        Turn("m3", "resident", "转人工", category="other"),
        Turn("m4", "agent", "您好，我是客服小王"),
        Turn("m5", "agent", "内部备注：查了户号2026010001", internal=True),
        Turn(
            "m6",
            "agent",
            "可以开专票。请把单位名称和税号发给我们，户号2026010001的专票三个工作日内开好，"
            "3号楼2单元501室的住户也可以到营业厅领取。",
        ),
        Turn("m7", "resident", "好的谢谢", category="praise_suggestion"),
    ]


async def test_agent_answer_becomes_a_scrubbed_proposal_once(session, clock, fake_kb) -> None:
    proposal = await propose_from_agent_answers(
        session, conversation_id="c1", turns=_conversation(), kb=fake_kb, clock=clock
    )
    assert proposal is not None and proposal.source == "agent_answer" and proposal.status == "proposed"
    assert proposal.questions == ["单位的暖气费能开增值税专用发票吗?我电话【手机号】"]
    assert proposal.answer.startswith("可以开专票") and "您好，我是客服小王" not in proposal.answer
    for secret in ("13812345678", "5678", "2026010001", "501", "内部备注"):
        assert secret not in proposal.answer + "".join(proposal.questions)
    assert fake_kb.count() == 0
    again = await propose_from_agent_answers(
        session, conversation_id="c1", turns=_conversation(), kb=fake_kb, clock=clock
    )
    assert again is not None and again.id == proposal.id


async def test_repair_cases_and_conversations_without_agent_answers_teach_nothing(
    session, clock, fake_kb
) -> None:
    assert (
        await propose_from_agent_answers(
            session, conversation_id="c2", turns=_conversation("no_heat"), kb=fake_kb, clock=clock
        )
        is None
    )
    bot_only = [t for t in _conversation() if t.sender != "agent"]
    assert (
        await propose_from_agent_answers(
            session, conversation_id="c3", turns=bot_only, kb=fake_kb, clock=clock
        )
        is None
    )
