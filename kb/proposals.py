"""Proposed FAQ entries: drafted by mining or learned from human agents' answers, decided by admins.

A proposal is never searchable. ``approve_proposal`` turns it into an active FAQ document through
curation (versioned, audited, indexed at once); ``reject_proposal`` records why, and the same
questions are not proposed again. Proposals are keyed (``dedupe_key``) so a re-run of mining or a
second hand-back of the same conversation updates the draft instead of duplicating it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kb.curation import DocumentInput, create_document
from kb.gaps import normalise_question, scrub
from kb.models import KbDocument, KbProposal
from kb.retriever import KnowledgeBase, Scope
from tools.audit import record_audit
from tools.clock import Clock, local_date
from tools.errors import Conflict, InvalidInput, NotFound

MAX_VARIANTS = 12
# e5-small puts unrelated Chinese passages at 0.85-0.90; below this a pre-filled answer misleads.
PREFILL_MIN_DENSE = 0.92
# Only these topics make sense as FAQ entries; a repair or a complaint is a case, not knowledge.
KNOWLEDGE_CATEGORIES = {"inquiry", "billing", "suspend", "account", "other", None}
_GREETING = re.compile(
    r"^(您好|你好|亲)?[，,！!。\s]*(我是.{0,12}|请稍等.*|好的.*|不客气.*|在的.*)?[。！!]?$"
)


async def _by_questions(session: AsyncSession, questions: list[str]) -> KbProposal | None:
    """An earlier mining proposal sharing any question text is the same topic."""
    wanted = set(questions)
    rows = await session.scalars(select(KbProposal).where(KbProposal.source == "mining"))
    return next((row for row in rows if wanted & set(row.questions or [])), None)


def _prefill(kb: KnowledgeBase, question: str, *, clock: Clock, community: str | None) -> tuple[str, str]:
    result = kb.search(question, scope=Scope(today=local_date(clock), community=community), k=1)
    if not result.passages:
        return "", "知识库中没有相关内容，请填写答案后再批准。"
    top = result.passages[0]
    if (top.dense or 0.0) < PREFILL_MIN_DENSE:
        return (
            "",
            f"知识库中最接近的是《{top.title}》（语义相似度 {top.dense or 0:.2f}），看起来不相关，"
            "请填写答案后再批准。",
        )
    return top.text, (
        f"答案预填自《{top.title}》（语义相似度 {top.dense:.2f}）。机器人对这类问题把握不足，"
        "请核对、修改后再批准。"
    )


async def propose_from_cluster(
    session: AsyncSession,
    *,
    questions: list[str],
    asked_count: int,
    kb: KnowledgeBase,
    clock: Clock,
    scope_community: str | None = None,
    scope_building: str | None = None,
) -> tuple[KbProposal, str]:
    """Create or refresh the draft for one mined topic: (proposal, "created"|"updated"|"decided")."""
    existing = await _by_questions(session, questions)
    if existing is not None:
        if existing.status != "proposed":
            return existing, "decided"  # an admin already approved or rejected this topic
        merged = list(dict.fromkeys([*existing.questions, *questions]))[:MAX_VARIANTS]
        existing.questions, existing.asked_count = merged, max(existing.asked_count, asked_count)
        await session.flush()
        return existing, "updated"
    answer, note = _prefill(kb, questions[0], clock=clock, community=scope_community)
    digest = hashlib.sha1(questions[0].encode()).hexdigest()[:20]
    proposal = KbProposal(
        source="mining",
        dedupe_key=f"mining:{digest}",
        title=questions[0][:200],
        questions=questions[:MAX_VARIANTS],
        answer=answer,
        note=note,
        asked_count=asked_count,
        scope_community=scope_community,
        scope_building=scope_building if scope_community else None,
    )
    session.add(proposal)
    await session.flush()
    return proposal, "created"


@dataclass(frozen=True)
class Turn:
    """One transcript line as the conversations module stores it (the KB may not import it)."""

    message_id: str
    sender: str  # resident | bot | agent | system
    text: str
    internal: bool = False
    category: str | None = None


def _agent_exchange(turns: list[Turn]) -> tuple[list[Turn], list[Turn]]:
    """The resident's questions and the agent's answers of the last human-handled stretch."""
    visible = [t for t in turns if not t.internal]
    last_agent = max((i for i, t in enumerate(visible) if t.sender == "agent"), default=None)
    if last_agent is None:
        return [], []
    first_agent = last_agent
    while first_agent > 0 and visible[first_agent - 1].sender != "bot":
        first_agent -= 1
    stretch = visible[first_agent : last_agent + 1]
    start = next((i for i, t in enumerate(stretch) if t.sender == "agent"), 0)
    # The questions are what the resident said just before the agent joined, and while talking to them.
    asked = [t for t in visible[max(0, first_agent - 4) : last_agent] if t.sender == "resident"]
    answers = [
        t for t in stretch[start:] if t.sender == "agent" and len(t.text) >= 8 and not _GREETING.match(t.text)
    ]
    return asked[-3:], answers


async def propose_from_agent_answers(
    session: AsyncSession, *, conversation_id: str, turns: list[Turn], kb: KnowledgeBase, clock: Clock
) -> KbProposal | None:
    """After an agent hands a conversation back (or it closes): draft an FAQ entry from what the
    resident asked and the agent answered, scrubbed of personal data. None when there is nothing
    to learn: no agent answer, a repair or complaint case, or a question the KB already answers."""
    asked, answers = _agent_exchange(turns)
    asked = [
        t
        for t in asked
        if t.category in KNOWLEDGE_CATEGORIES and len(t.text.strip()) >= 4 and "人工" not in t.text
    ]
    if not asked or not answers:
        return None
    questions = list(dict.fromkeys(normalise_question(t.text) for t in asked))
    today = local_date(clock)
    if kb.search(questions[-1], scope=Scope(today=today), k=1).confident:
        return None
    key = f"agent:{conversation_id}:{answers[-1].message_id}"[:120]
    existing = await session.scalar(select(KbProposal).where(KbProposal.dedupe_key == key))
    if existing is not None:
        return existing
    proposal = KbProposal(
        source="agent_answer",
        dedupe_key=key,
        title=questions[-1][:200],
        questions=questions,
        answer=scrub("\n".join(t.text for t in answers)),
        note="来自人工客服的回答（已去除电话、证件号、户号和房号），请改写成通用答案后再批准。",
        asked_count=len(asked),
        conversation_id=conversation_id,
    )
    session.add(proposal)
    await session.flush()
    return proposal


async def get_proposal(session: AsyncSession, proposal_id: str) -> KbProposal:
    proposal = await session.get(KbProposal, proposal_id)
    if proposal is None:
        raise NotFound("候选条目不存在", code="proposal_not_found")
    return proposal


async def list_proposals(
    session: AsyncSession, *, status: str | None = "proposed", limit: int = 50
) -> list[KbProposal]:
    stmt = select(KbProposal)
    if status:
        stmt = stmt.where(KbProposal.status == status)
    rows = await session.scalars(
        stmt.order_by(KbProposal.asked_count.desc(), KbProposal.created_at.desc()).limit(limit)
    )
    return list(rows)


def _pending(proposal: KbProposal) -> None:
    if proposal.status != "proposed":
        verb = "批准" if proposal.status == "approved" else "驳回"
        raise Conflict(f"该候选条目已被{verb}", code="already_decided")


async def approve_proposal(
    session: AsyncSession,
    proposal_id: str,
    *,
    kb: KnowledgeBase,
    clock: Clock,
    actor: str,
    answer: str | None = None,
    questions: list[str] | None = None,
    title: str | None = None,
) -> tuple[KbProposal, KbDocument]:
    """Publish a proposal as an active FAQ entry (optionally with the admin's edited answer)."""
    proposal = await get_proposal(session, proposal_id)
    _pending(proposal)
    final_answer = (answer if answer is not None else proposal.answer).strip()
    if not final_answer:
        raise InvalidInput("请先填写答案再批准", code="answer_required")
    document = await create_document(
        session,
        DocumentInput(
            title=(title or proposal.title).strip(),
            content=scrub(final_answer),
            kind="faq",
            questions=[scrub(q) for q in (questions if questions is not None else proposal.questions)],
            scope_community=proposal.scope_community,
            scope_building=proposal.scope_building,
        ),
        kb=kb,
        clock=clock,
        actor=actor,
        note=f"approved proposal {proposal.id} ({proposal.source})",
    )
    proposal.status, proposal.decided_by, proposal.decided_at = "approved", actor, clock.now()
    proposal.answer, proposal.document_id = document.content, document.id
    await session.flush()
    await record_audit(
        session,
        clock=clock,
        actor=actor,
        action="kb.proposal.approve",
        target_type="kb_proposal",
        target_id=proposal.id,
        details={"document_id": document.id, "source": proposal.source},
    )
    return proposal, document


async def reject_proposal(
    session: AsyncSession, proposal_id: str, *, clock: Clock, actor: str, reason: str = ""
) -> KbProposal:
    proposal = await get_proposal(session, proposal_id)
    _pending(proposal)
    proposal.status, proposal.decided_by, proposal.decided_at = "rejected", actor, clock.now()
    proposal.decision_note = reason or None
    await session.flush()
    await record_audit(
        session,
        clock=clock,
        actor=actor,
        action="kb.proposal.reject",
        target_type="kb_proposal",
        target_id=proposal.id,
        reason=reason or None,
    )
    return proposal


__all__ = [
    "Turn",
    "approve_proposal",
    "get_proposal",
    "list_proposals",
    "propose_from_agent_answers",
    "propose_from_cluster",
    "reject_proposal",
]
