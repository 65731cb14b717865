"""Quality inspection over stored conversations: scoring job, per-handler aggregates, flagged list.

A conversation is inspected once it has ended: closed by an agent or by the auto-close job
(tools/conversations/closing.py). Open conversations idle for ``IDLE_AFTER`` are inspected too:
those from before conversations were closed explicitly, and residents left waiting for a human
(the auto-close job never closes those). When an inspected conversation grows (the resident wrote
again and it reopened), it is scored again once it ends again, and the reopen counts as a repeat
contact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from tools.clock import Clock
from tools.conversations.models import Conversation, Message
from tools.quality.models import QualityReview
from tools.quality.rules import Facts, Turn, handler_of, score_conversation
from tools.staff.models import StaffUser
from tools.tickets.models import Ticket

IDLE_AFTER = timedelta(hours=24)
REPEAT_WINDOW = timedelta(days=3)


async def _facts(session: AsyncSession, conversation: Conversation, ended_at: datetime) -> Facts:
    ticket = await session.scalar(
        select(func.count()).select_from(Ticket).where(Ticket.conversation_id == conversation.id)
    )
    repeat = 0
    if conversation.account_id:
        repeat = await session.scalar(
            select(func.count())
            .select_from(Conversation)
            .where(
                Conversation.account_id == conversation.account_id,
                Conversation.id != conversation.id,
                Conversation.created_at > ended_at,
                Conversation.created_at <= ended_at + REPEAT_WINDOW,
            )
        )
    return Facts(ticket_created=bool(ticket), repeat_contact=bool(repeat or conversation.reopen_count))


async def review_conversation(
    session: AsyncSession, conversation: Conversation, *, clock: Clock
) -> QualityReview:
    messages = list(
        await session.scalars(
            select(Message)
            .where(Message.conversation_id == conversation.id, Message.internal.is_(False))
            .order_by(Message.seq)
        )
    )
    turns = [Turn(m.sender, m.text, m.created_at, m.emotion, m.staff_id) for m in messages]
    ended_at = messages[-1].created_at if messages else conversation.last_message_at or clock.now()
    card = score_conversation(turns, await _facts(session, conversation, ended_at))
    handler, staff_id = handler_of(turns)
    review = await session.scalar(
        select(QualityReview).where(QualityReview.conversation_id == conversation.id)
    )
    if review is None:
        review = QualityReview(conversation_id=conversation.id)
        session.add(review)
    review.handler, review.staff_id, review.channel = handler, staff_id, conversation.channel
    review.score, review.flagged, review.flags = card.score, card.flagged, card.flags
    review.rules = [rule.as_dict() for rule in card.rules]
    review.first_response_s = card.first_response_s
    review.emotion_start, review.emotion_end = card.emotion_start, card.emotion_end
    review.scored_at = clock.now()
    review.scored_through = ended_at
    review.message_count = len(messages)
    await session.flush()
    return review


async def review_ended_conversations(
    session: AsyncSession, *, clock: Clock, idle_after: timedelta = IDLE_AFTER, limit: int = 200
) -> int:
    """Score conversations that ended and were not scored since their last message."""
    legacy_idle = and_(
        Conversation.status == "open", Conversation.last_message_at <= clock.now() - idle_after
    )
    ended = or_(Conversation.status == "closed", legacy_idle)
    stale = or_(QualityReview.id.is_(None), QualityReview.scored_through < Conversation.last_message_at)
    rows = await session.scalars(
        select(Conversation)
        .outerjoin(QualityReview, QualityReview.conversation_id == Conversation.id)
        .where(ended, stale, Conversation.last_message_at.is_not(None))
        .where(select(Message.id).where(Message.conversation_id == Conversation.id).exists())
        .order_by(Conversation.last_message_at)
        .limit(limit)
    )
    count = 0
    for conversation in list(rows):
        await review_conversation(session, conversation, clock=clock)
        count += 1
    return count


@dataclass(frozen=True)
class HandlerStats:
    handler: str  # "bot" or the agent's display name
    staff_id: str | None
    conversations: int
    average_score: float
    flagged: int
    average_first_response_s: float | None


async def handler_stats(
    session: AsyncSession, *, start: datetime | None = None, end: datetime | None = None
) -> list[HandlerStats]:
    stmt = (
        select(
            QualityReview.handler,
            QualityReview.staff_id,
            StaffUser.display_name,
            func.count(),
            func.avg(QualityReview.score),
            func.sum(case((QualityReview.flagged.is_(True), 1), else_=0)),
            func.avg(QualityReview.first_response_s),
        )
        .outerjoin(StaffUser, StaffUser.id == QualityReview.staff_id)
        .group_by(QualityReview.handler, QualityReview.staff_id, StaffUser.display_name)
        .order_by(QualityReview.handler, StaffUser.display_name)
    )
    stmt = _in_range(stmt, start, end)
    return [
        HandlerStats(
            handler=name if kind == "agent" and name else "bot",
            staff_id=staff_id,
            conversations=int(count),
            average_score=round(float(avg or 0), 1),
            flagged=int(flagged or 0),
            average_first_response_s=None if first is None else round(float(first), 1),
        )
        for kind, staff_id, name, count, avg, flagged, first in await session.execute(stmt)
    ]


async def flagged_reviews(
    session: AsyncSession, *, start: datetime | None = None, end: datetime | None = None, limit: int = 100
) -> list[QualityReview]:
    stmt = select(QualityReview).where(QualityReview.flagged.is_(True))
    stmt = _in_range(stmt, start, end).order_by(QualityReview.score, QualityReview.scored_through.desc())
    return list(await session.scalars(stmt.limit(limit)))


def _in_range(stmt: Select, start: datetime | None, end: datetime | None) -> Select:
    conditions = []
    if start is not None:
        conditions.append(QualityReview.scored_through >= start)
    if end is not None:
        conditions.append(QualityReview.scored_through < end)
    return stmt.where(and_(*conditions)) if conditions else stmt
