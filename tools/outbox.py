"""The transactional outbox: notifications written in the same transaction as the change.

A ticket transition or a credited payment enqueues a message here; a job delivers it through the
resident's channel later. Writing it in the same transaction means a crash can never produce a
"paid" without its confirmation, or a confirmation for a payment that rolled back. ``dedupe_key``
makes enqueueing idempotent (a replayed callback does not notify twice).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, and_, or_, select, update
from sqlalchemy.exc import IntegrityError
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
    "service_request",
)
# pending → sending (claimed by one worker) → sent | pending (retry later) | failed | undeliverable;
# waiting: a placeholder an earlier version wrote for a reply still being written (never claimed)
OUTBOX_STATUSES = ("waiting", "pending", "sending", "sent", "failed", "undeliverable", "cancelled")


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
    # Delivery state (channels/delivery.py): when the next try is due, which worker holds the row
    # and until when, and per-recipient receipts so a retry never resends to whoever already got it.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    channel: Mapped[str | None] = mapped_column(String(64))
    receipt: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


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
        status="pending",
    )
    if dedupe_key is None:
        session.add(message)
        await session.flush()
        return message
    try:
        # Two pushes of one WeChat MsgId can both miss the lookup above: the unique key decides.
        async with session.begin_nested():
            session.add(message)
            await session.flush()
    except IntegrityError:
        winner = await session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key))
        if winner is None:
            raise
        return winner
    return message


def _claimable(now: datetime) -> Any:
    """Due pending rows, and rows whose worker's lease ran out (it crashed mid-delivery)."""
    return or_(
        and_(
            OutboxMessage.status == "pending",
            or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now),
        ),
        and_(OutboxMessage.status == "sending", OutboxMessage.claimed_until < now),
    )


async def claim_due(
    session: AsyncSession,
    *,
    clock: Clock,
    token: str,
    lease: timedelta,
    limit: int = 50,
    message_id: str | None = None,
) -> list[OutboxMessage]:
    """Claim up to ``limit`` due messages for one worker run; commit right after, send outside.

    Each row moves to ``sending`` by a conditional UPDATE that re-checks it is still claimable, so
    of two workers racing for a row exactly one gets rowcount 1 (PostgreSQL re-evaluates the
    WHERE after the other's commit; SQLite serializes writers). On PostgreSQL the candidate
    SELECT also uses ``FOR UPDATE SKIP LOCKED`` so concurrent workers take different rows instead
    of queueing on the same ones. ``attempts`` counts claims, so a crash loop still gives up.
    """
    now = clock.now()
    candidates = select(OutboxMessage.id).where(_claimable(now))
    if message_id is not None:
        candidates = candidates.where(OutboxMessage.id == message_id)
    candidates = candidates.order_by(OutboxMessage.created_at, OutboxMessage.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    claimed: list[str] = []
    for row_id in list(await session.scalars(candidates)):
        result = await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id, _claimable(now))
            .values(
                status="sending",
                claim_token=token,
                claimed_until=now + lease,
                attempts=OutboxMessage.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            claimed.append(row_id)
    if not claimed:
        return []
    rows = await session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.id.in_(claimed))
        .order_by(OutboxMessage.created_at, OutboxMessage.id)
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def finish_claim(
    session: AsyncSession,
    *,
    message_id: str,
    token: str,
    status: str,
    clock: Clock,
    receipt: dict[str, Any],
    channel: str | None = None,
    error: str | None = None,
    retry_at: datetime | None = None,
) -> bool:
    """Record a delivery outcome; False when this worker no longer holds the claim."""
    if status not in OUTBOX_STATUSES or status == "sending":
        raise ValueError(f"not a final outbox status {status!r}")
    values: dict[str, Any] = {
        "status": status,
        "claim_token": None,
        "claimed_until": None,
        "receipt": receipt,
        "last_error": error,
        "next_attempt_at": retry_at,
    }
    if status == "sent":
        values |= {"sent_at": clock.now(), "channel": channel}
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            OutboxMessage.status == "sending",
            OutboxMessage.claim_token == token,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1
