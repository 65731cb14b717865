"""The transactional outbox: notifications written in the same transaction as the change.

A ticket transition or a credited payment enqueues a message here; a job delivers it through the
resident's channel later. Writing it in the same transaction means a crash can never produce a
"paid" without its confirmation, or a confirmation for a payment that rolled back. ``dedupe_key``
makes enqueueing idempotent (a replayed callback does not notify twice).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from tools.clock import Clock
from tools.db import Base, IdMixin, JSONType, UTCDateTime

OUTBOX_KINDS = (
    "ticket_progress",
    "payment_confirmed",
    "arrears_reminder",
    "survey",
    "care",
    "agent_reply",
    "notice",
)


class OutboxMessage(IdMixin, Base):
    __tablename__ = "outbox"

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    account_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    conversation_id: Mapped[str | None] = mapped_column(ForeignKey("conversations.id"))
    text: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    dedupe_key: Mapped[str | None] = mapped_column(String(128), unique=True)


async def enqueue(
    session: AsyncSession,
    *,
    clock: Clock,
    kind: str,
    text: str,
    account_id: str | None = None,
    conversation_id: str | None = None,
    payload: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
) -> OutboxMessage:
    if kind not in OUTBOX_KINDS:
        raise ValueError(f"unknown outbox kind {kind!r}")
    if dedupe_key is not None:
        existing = await session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key))
        if existing is not None:
            return existing
    message = OutboxMessage(
        created_at=clock.now(),
        kind=kind,
        text=text,
        account_id=account_id,
        conversation_id=conversation_id,
        payload=payload or {},
        dedupe_key=dedupe_key,
    )
    session.add(message)
    await session.flush()
    return message
