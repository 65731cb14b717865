"""Follow-up surveys: sent when a repair is completed, answered by the resident's next reply.

``send_due_surveys`` (a job) finds tickets that reached 已完成 and have no survey for this completion
round, enqueues the question to the resident's channel and records a pending survey, both in one
transaction. ``answer_survey`` runs before the bot's normal turn (see agent/runtime.py): the first
resident message of that account inside the window that reads as an answer is consumed — scored,
recorded, and acted on (已回访, reopen to 已受理, or a human call-back through the handoff queue).
A message that does not read as an answer (a new question) leaves the survey pending unless it is
negative, which escalates and still lets the bot answer the question.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from tools.clock import Clock
from tools.conversations.models import Conversation, Message
from tools.conversations.service import request_handoff
from tools.dispatch.models import Worker
from tools.followups.models import Survey
from tools.followups.scoring import THANKS, SurveyAnswer, outcome_of, read_answer
from tools.outbox import enqueue
from tools.tickets.models import Ticket
from tools.tickets.service import transition

SURVEY_WINDOW = timedelta(hours=72)
SURVEY_TEXT = "【服务回访】您的报修工单{ticket_no}已完成。请为本次维修打分 1-5，也可以说说您的感受。"


@dataclass(frozen=True)
class SurveyReply:
    survey: Survey
    answer: SurveyAnswer
    consumed: bool  # True: the bot's turn is replaced by ``reply``
    reply: str
    handoff: bool


async def _survey_conversation(session: AsyncSession, ticket: Ticket) -> str | None:
    if ticket.conversation_id:
        return ticket.conversation_id
    return await session.scalar(
        select(Conversation.id)
        .where(Conversation.account_id == ticket.account_id)
        .order_by(Conversation.last_message_at.desc())
        .limit(1)
    )


async def send_due_surveys(
    session: AsyncSession, *, clock: Clock, window: timedelta = SURVEY_WINDOW, limit: int = 200
) -> int:
    """Survey every 已完成 ticket not yet surveyed in its current round. Idempotent."""
    rows = await session.scalars(
        select(Ticket)
        .outerjoin(Survey, and_(Survey.ticket_id == Ticket.id, Survey.round == Ticket.reopen_count))
        .where(Ticket.status == "已完成", Survey.id.is_(None))
        .order_by(Ticket.created_at)
        .limit(limit)
    )
    sent = 0
    for ticket in list(rows):
        conversation_id = await _survey_conversation(session, ticket)
        survey = Survey(
            ticket_id=ticket.id,
            round=ticket.reopen_count,
            account_id=ticket.account_id,
            conversation_id=conversation_id,
            worker_id=ticket.worker_id,
            sent_at=clock.now(),
            expires_at=clock.now() + window,
            details={},
        )
        session.add(survey)
        await session.flush()
        await enqueue(
            session,
            clock=clock,
            kind="survey",
            text=SURVEY_TEXT.format(ticket_no=ticket.ticket_no),
            account_id=ticket.account_id,
            conversation_id=conversation_id,
            payload={"ticket_no": ticket.ticket_no, "survey_id": survey.id},
            dedupe_key=f"survey:{ticket.id}:{ticket.reopen_count}",
        )
        sent += 1
    return sent


async def expire_surveys(session: AsyncSession, *, clock: Clock) -> int:
    rows = await session.scalars(
        select(Survey).where(Survey.status == "pending", Survey.expires_at <= clock.now())
    )
    expired = 0
    for survey in rows:
        survey.status = "expired"
        expired += 1
    await session.flush()
    return expired


async def pending_survey(session: AsyncSession, *, account_id: str, clock: Clock) -> Survey | None:
    return await session.scalar(
        select(Survey)
        .where(
            Survey.account_id == account_id,
            Survey.status == "pending",
            Survey.sent_at <= clock.now(),
            Survey.expires_at > clock.now(),
        )
        .order_by(Survey.sent_at.desc())
        .limit(1)
    )


async def answer_survey(
    session: AsyncSession, *, conversation: Conversation, message: Message, emotion: str, clock: Clock
) -> SurveyReply | None:
    """Take ``message`` as the answer to the account's pending survey, if there is one."""
    if conversation.account_id is None or message.sender != "resident":
        return None
    survey = await pending_survey(session, account_id=conversation.account_id, clock=clock)
    if survey is None:
        return None
    ticket = await session.get(Ticket, survey.ticket_id)
    worker_id = (ticket.worker_id if ticket else None) or survey.worker_id
    worker = await session.get(Worker, worker_id) if worker_id else None
    answer = read_answer(message.text, emotion=emotion, worker_name=worker.name if worker else None)
    outcome = outcome_of(answer)
    if not answer.is_answer and outcome != "escalated":
        return None
    survey.status = "answered"
    survey.answered_at = clock.now()
    survey.answer_message_id = message.id
    survey.answer_text = message.text[:500]
    survey.score = answer.score
    survey.sentiment = answer.sentiment
    survey.hidden_dissatisfaction = answer.hidden_dissatisfaction
    survey.flagged = outcome in ("reopened", "escalated")
    survey.outcome = outcome
    survey.details = {"cues": answer.cues, "conversation_id": conversation.id}
    if answer.praised and worker is not None:
        worker.praise_count = (worker.praise_count or 0) + 1
        survey.praised_worker_id = worker.id
    if ticket is not None:
        await _apply_outcome(session, ticket, outcome, answer, clock=clock)
    handoff = outcome in ("reopened", "escalated")
    if handoff:
        await request_handoff(
            session, conversation=conversation, summary=_handoff_summary(ticket, answer), clock=clock
        )
    await session.flush()
    return SurveyReply(
        survey=survey, answer=answer, consumed=answer.is_answer, reply=THANKS[outcome], handoff=handoff
    )


async def _apply_outcome(
    session: AsyncSession, ticket: Ticket, outcome: str, answer: SurveyAnswer, *, clock: Clock
) -> None:
    if outcome == "visited" and ticket.status == "已完成":
        await transition(
            session,
            ticket,
            "已回访",
            clock=clock,
            message=f"回访完成，您的评分：{answer.score}分。感谢您的评价！",
        )
    elif outcome == "reopened" and ticket.status in ("已完成", "已回访", "已关闭"):
        await transition(
            session,
            ticket,
            "已受理",
            clock=clock,
            message="回访中您反馈仍不满意，工单已重新受理，将再次安排师傅上门。",
        )


def _handoff_summary(ticket: Ticket | None, answer: SurveyAnswer) -> str:
    parts = [f"回访不满意（工单{ticket.ticket_no}）" if ticket else "回访不满意"]
    parts.append(f"评分：{answer.score}分" if answer.score is not None else "未评分")
    if answer.hidden_dissatisfaction:
        parts.append(f"疑似隐性不满：{'、'.join(answer.cues)}")
    parts.append(f"情绪：{answer.sentiment}")
    return "；".join(parts)
