"""Ending conversations: an agent's close, the idle job's close, and reopening when the resident writes.

Why conversations end explicitly: quality inspection scores a conversation once it is over, metrics
count contacts, and an agent's ownership must not outlive the contact (while an agent owns it the bot
stays silent). A close clears ownership and the handoff request, so nothing is left waiting.

Reopen policy (what a heating company expects): a resident who writes into a closed conversation is
usually still on the same matter (“还是不热”, “师傅怎么还没来”), so the same conversation reopens —
the agent sees the whole history, the bot keeps its context, and ``reopen_count`` tells quality
inspection the resident had to come back. Web and app sessions *are* their conversation, so they
always reopen. A WeChat thread lives for years, so a message long after the close (past
``reopen_within``) starts a new conversation instead: a new contact, inspected on its own.

Every state change is one conditional UPDATE, so an agent's close, the idle job and a resident's new
message can race without losing a message or closing a conversation twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, not_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tools.clock import Clock
from tools.conversations.models import Conversation
from tools.errors import Conflict

AUTO_CLOSE_ACTOR = "system:auto_close"


@dataclass(frozen=True)
class ClosedConversation:
    id: str
    owner_staff_id: str | None  # the agent who owned it when it was closed, if any


async def close_conversation(
    session: AsyncSession, *, conversation: Conversation, clock: Clock, closed_by: str = "system"
) -> Conversation:
    """Close an open conversation; ``Conflict`` when it is already closed."""
    await session.flush()  # the refresh below must not drop changes made to the object
    now = clock.now()
    result = await session.execute(
        update(Conversation)
        .where(Conversation.id == conversation.id, Conversation.status == "open")
        .values(
            status="closed",
            closed_at=now,
            closed_by=closed_by,
            owner_staff_id=None,
            handoff_requested_at=None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    await session.refresh(conversation)
    if result.rowcount != 1:
        raise Conflict("该会话已结束", code="already_closed")
    return conversation


def _idle(cutoff: object) -> object:
    # A resident waiting in the queue for a human is never closed by the clock: a person must answer.
    waiting = and_(Conversation.handoff_requested_at.is_not(None), Conversation.owner_staff_id.is_(None))
    return and_(
        Conversation.status == "open",
        Conversation.last_message_at.is_not(None),
        Conversation.last_message_at <= cutoff,
        not_(waiting),
    )


async def close_idle_conversations(
    session: AsyncSession, *, clock: Clock, idle_after: timedelta, limit: int = 500
) -> list[ClosedConversation]:
    """Close open conversations without a message for ``idle_after`` (the auto-close job)."""
    now = clock.now()
    cutoff = now - idle_after
    candidates = list(
        await session.execute(
            select(Conversation.id, Conversation.owner_staff_id)
            .where(_idle(cutoff))
            .order_by(Conversation.last_message_at)
            .limit(limit)
        )
    )
    if not candidates:
        return []
    # The WHERE is re-checked row by row: a message that arrived since the select keeps it open.
    closed = set(
        await session.scalars(
            update(Conversation)
            .where(Conversation.id.in_([row.id for row in candidates]), _idle(cutoff))
            .values(
                status="closed",
                closed_at=now,
                closed_by=AUTO_CLOSE_ACTOR,
                owner_staff_id=None,
                handoff_requested_at=None,
                updated_at=now,
            )
            .returning(Conversation.id)
            .execution_options(synchronize_session=False)
        )
    )
    return [ClosedConversation(row.id, row.owner_staff_id) for row in candidates if row.id in closed]


async def reopen_if_closed(session: AsyncSession, *, conversation: Conversation, clock: Clock) -> bool:
    """Reopen a closed conversation because its resident wrote again; True when it was closed."""
    result = await session.execute(
        update(Conversation)
        .where(Conversation.id == conversation.id, Conversation.status == "closed")
        .values(
            status="open",
            closed_at=None,
            closed_by=None,
            reopen_count=Conversation.reopen_count + 1,
            updated_at=clock.now(),
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    await session.refresh(conversation)
    return True


async def find_current_conversation(
    session: AsyncSession, *, identity_id: str, clock: Clock, reopen_within: timedelta
) -> Conversation | None:
    """The identity's conversation a new message belongs to: its open one, or the one closed less
    than ``reopen_within`` ago (the message reopens it); None means start a new conversation."""
    mine = select(Conversation).where(Conversation.identity_id == identity_id)
    current = await session.scalar(
        mine.where(Conversation.status == "open").order_by(Conversation.created_at.desc()).limit(1)
    )
    if current is not None or reopen_within <= timedelta(0):
        return current
    return await session.scalar(
        mine.where(Conversation.status == "closed", Conversation.closed_at >= clock.now() - reopen_within)
        .order_by(Conversation.closed_at.desc())
        .limit(1)
    )


__all__ = [
    "AUTO_CLOSE_ACTOR",
    "ClosedConversation",
    "close_conversation",
    "close_idle_conversations",
    "find_current_conversation",
    "reopen_if_closed",
]
