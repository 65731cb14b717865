"""Conversations and their messages, whatever channel they came through.

Ownership is the one piece of shared mutable state agents race on, so ``take_over`` is a single
conditional UPDATE (``WHERE owner_staff_id IS NULL``): the database picks exactly one winner
however many agents click at once. Messages are deduplicated on the channel's message id, so a
retried webhook never becomes a second message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tools.clock import Clock
from tools.conversations.closing import close_conversation as close_conversation  # re-exported
from tools.conversations.closing import reopen_if_closed
from tools.conversations.models import SENDERS, Conversation, Message
from tools.errors import Conflict, NotFound, PermissionDenied

_URGENCY_RANK = {"emergency": 0, "high": 1, "normal": 2, "low": 3}
_EMOTION_RANK = {"angry": 0, "dissatisfied": 1, "anxious": 2, "neutral": 3, "satisfied": 4}


@dataclass(frozen=True)
class Labels:
    category: str
    emotion: str
    urgency: str
    confidence: float


async def get_conversation(session: AsyncSession, conversation_id: str) -> Conversation:
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound("会话不存在")
    return conversation


async def open_conversation(
    session: AsyncSession,
    *,
    channel: str,
    clock: Clock,
    identity_id: str | None = None,
    account_id: str | None = None,
    token_hash: str | None = None,
) -> Conversation:
    conversation = Conversation(
        channel=channel,
        identity_id=identity_id,
        account_id=account_id,
        token_hash=token_hash,
        last_message_at=clock.now(),
    )
    session.add(conversation)
    await session.flush()
    return conversation


async def find_open_conversation(session: AsyncSession, *, identity_id: str) -> Conversation | None:
    return await session.scalar(
        select(Conversation)
        .where(Conversation.identity_id == identity_id, Conversation.status == "open")
        .order_by(Conversation.created_at.desc())
        .limit(1)
    )


async def append_message(
    session: AsyncSession,
    *,
    conversation: Conversation,
    sender: str,
    text: str,
    clock: Clock,
    external_id: str | None = None,
    staff_id: str | None = None,
    labels: Labels | None = None,
    normalized_text: str | None = None,
    internal: bool = False,
    meta: dict[str, Any] | None = None,
) -> tuple[Message, bool]:
    """Store a message; returns ``(message, created)``. A repeated ``external_id`` returns the first."""
    if sender not in SENDERS:
        raise ValueError(f"unknown sender {sender!r}")
    # A no-op UPDATE takes the conversation's row lock (PostgreSQL) or the write lock (SQLite), so
    # concurrent writers of one conversation queue here instead of racing for the next seq.
    await session.execute(
        update(Conversation)
        .where(Conversation.id == conversation.id)
        .values(status=Conversation.status)
        .execution_options(synchronize_session=False)
    )
    if external_id is not None:
        existing = await _by_external_id(session, conversation.id, external_id)
        if existing is not None:
            return existing, False
    if sender == "resident":
        # Under the lock just taken, so a concurrent close cannot swallow this message.
        await reopen_if_closed(session, conversation=conversation, clock=clock)
    for _ in range(5):
        seq = int(
            await session.scalar(
                select(func.coalesce(func.max(Message.seq), 0)).where(
                    Message.conversation_id == conversation.id
                )
            )
            or 0
        )
        message = Message(
            conversation_id=conversation.id,
            seq=seq + 1,
            external_id=external_id,
            sender=sender,
            staff_id=staff_id,
            text=text,
            normalized_text=normalized_text,
            internal=internal,
            meta=meta or {},
            created_at=clock.now(),
        )
        if labels is not None:
            message.category, message.emotion = labels.category, labels.emotion
            message.urgency, message.confidence = labels.urgency, labels.confidence
        try:
            async with session.begin_nested():
                session.add(message)
        except IntegrityError:
            # A concurrent writer took this seq, or delivered the same external id first.
            if external_id is not None:
                existing = await _by_external_id(session, conversation.id, external_id)
                if existing is not None:
                    return existing, False
            continue
        break
    else:
        raise Conflict("消息写入冲突，请重试")
    if not internal:
        conversation.last_message_at = message.created_at
    if labels is not None and sender == "resident":
        conversation.last_category, conversation.last_emotion = labels.category, labels.emotion
        conversation.last_urgency = labels.urgency
    await session.flush()
    return message, True


async def _by_external_id(session: AsyncSession, conversation_id: str, external_id: str) -> Message | None:
    return await session.scalar(
        select(Message).where(Message.conversation_id == conversation_id, Message.external_id == external_id)
    )


async def transcript(
    session: AsyncSession, *, conversation_id: str, include_internal: bool = False, limit: int = 200
) -> list[Message]:
    stmt = select(Message).where(Message.conversation_id == conversation_id)
    if not include_internal:
        stmt = stmt.where(Message.internal.is_(False))
    rows = await session.scalars(stmt.order_by(Message.seq.desc()).limit(limit))
    return list(reversed(list(rows)))


async def request_handoff(
    session: AsyncSession, *, conversation: Conversation, summary: str, clock: Clock
) -> None:
    if conversation.handoff_requested_at is None:
        conversation.handoff_requested_at = clock.now()
    conversation.handoff_summary = summary
    await session.flush()


async def take_over(session: AsyncSession, *, conversation_id: str, staff_id: str, clock: Clock) -> bool:
    """Atomically make ``staff_id`` the owner; False when someone else already owns it.

    A closed conversation cannot be taken over (``Conflict``): the resident reopens it by writing.
    """
    result = await session.execute(
        update(Conversation)
        .where(
            Conversation.id == conversation_id,
            Conversation.owner_staff_id.is_(None),
            Conversation.status == "open",
        )
        .values(owner_staff_id=staff_id, updated_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    # Reload so objects already in this session see the new owner.
    conversation = await session.get(Conversation, conversation_id, populate_existing=True)
    if conversation is None:
        raise NotFound("会话不存在")
    if result.rowcount != 1 and conversation.status == "closed":
        raise Conflict("该会话已结束，住户再次留言后会重新打开", code="already_closed")
    return result.rowcount == 1 or conversation.owner_staff_id == staff_id


async def hand_back(
    session: AsyncSession, *, conversation_id: str, staff_id: str, role: str, clock: Clock
) -> Conversation:
    conversation = await get_conversation(session, conversation_id)
    if conversation.owner_staff_id is None:
        raise Conflict("该会话当前由机器人接待")
    if conversation.owner_staff_id != staff_id and role not in ("supervisor", "admin"):
        raise PermissionDenied("只能交还自己接管的会话")
    conversation.owner_staff_id = None
    conversation.handoff_requested_at = None
    conversation.updated_at = clock.now()
    await session.flush()
    return conversation


async def agent_queue(session: AsyncSession, *, limit: int = 50) -> list[Conversation]:
    """Open conversations waiting for a human: most urgent, angriest, longest waiting first."""
    urgency = case(_URGENCY_RANK, value=Conversation.last_urgency, else_=4)
    emotion = case(_EMOTION_RANK, value=Conversation.last_emotion, else_=5)
    rows = await session.scalars(
        select(Conversation)
        .where(
            Conversation.status == "open",
            Conversation.handoff_requested_at.is_not(None),
            Conversation.owner_staff_id.is_(None),
        )
        .order_by(urgency, emotion, Conversation.handoff_requested_at)
        .limit(limit)
    )
    return list(rows)
