"""Outbox delivery: claim due rows, resolve who they are for, hand each copy to its channel's sender.

Guarantees, and what carries each:
- never sent twice by concurrent workers: a row is claimed by one conditional UPDATE (see
  ``tools.outbox.claim_due``) and its outcome is written only by the claim's holder;
- never resent to a recipient who already got it: per-recipient outcomes are kept in ``receipt``
  and a retry skips those (an account bound on WeChat and the app gets each copy once);
- never lost: a transient failure puts the row back as ``pending`` with exponential backoff, a
  worker that dies mid-send leaves a claim whose lease expires and another worker takes it over.
  That takeover is the one at-least-once gap (a send that reached WeChat just before the crash
  is repeated); the lease is far longer than a send's timeout so only a crash can open it;
- gives up after ``max_attempts`` with every recipient's error recorded (``failed``), or at once
  when no channel can reach the resident (``undeliverable``).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from channels.base import DeliveryResult, OutboundMessage, OutboundSender
from tools.clock import Clock
from tools.conversations.models import Conversation
from tools.crm.models import ChannelIdentity
from tools.db import transaction
from tools.logging import get_logger
from tools.outbox import OutboxMessage, claim_due, finish_claim

log = get_logger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(hours=1)
    lease: timedelta = timedelta(minutes=5)  # far above a send's HTTP timeout

    def delay(self, attempts: int) -> timedelta:
        return min(self.base * 2 ** max(attempts - 1, 0), self.cap)


@dataclass(frozen=True)
class Recipient:
    channel: str
    external_id: str | None
    conversation_id: str | None

    @property
    def key(self) -> str:
        return f"{self.channel}:{self.external_id or self.conversation_id}"


async def resolve_recipients(session: AsyncSession, row: OutboxMessage) -> list[Recipient]:
    """The conversation's own channel when the row names one, else every identity bound to the account."""
    if row.conversation_id is not None:
        conversation = await session.get(Conversation, row.conversation_id)
        if conversation is not None:
            identity = (
                await session.get(ChannelIdentity, conversation.identity_id)
                if conversation.identity_id
                else None
            )
            if identity is not None:
                return [Recipient(identity.channel, identity.external_id, conversation.id)]
            return [Recipient(conversation.channel, None, conversation.id)]
    payload = row.payload or {}
    if payload.get("channel") and payload.get("external_id"):
        return [Recipient(str(payload["channel"]), str(payload["external_id"]), None)]
    if row.account_id is None:
        return []
    identities = await session.scalars(
        select(ChannelIdentity)
        .where(ChannelIdentity.account_id == row.account_id)
        .order_by(ChannelIdentity.created_at, ChannelIdentity.id)
    )
    return [Recipient(identity.channel, identity.external_id, None) for identity in identities]


class OutboxDelivery:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        senders: Mapping[str, OutboundSender],
        policy: RetryPolicy | None = None,
        batch: int = 50,
        concurrency: int = 8,
    ) -> None:
        self.sessions, self.clock, self.senders = sessions, clock, dict(senders)
        self.policy = policy or RetryPolicy()
        self.batch = batch
        self._limit = asyncio.Semaphore(concurrency)

    async def run_due(self) -> dict[str, int]:
        """One delivery pass (the scheduled job); returns counts by final status."""
        return await self._run(None)

    async def deliver_now(self, outbox_id: str) -> str | None:
        """Try one row right away (a late reply); None when it is not due or another worker has it."""
        counts = await self._run(outbox_id)
        return next(iter(counts), None)

    async def _run(self, outbox_id: str | None) -> dict[str, int]:
        token = uuid.uuid4().hex
        async with transaction(self.sessions) as session:
            rows = await claim_due(
                session,
                clock=self.clock,
                token=token,
                lease=self.policy.lease,
                limit=self.batch if outbox_id is None else 1,
                message_id=outbox_id,
            )
            jobs = [(row, await resolve_recipients(session, row)) for row in rows]
            session.expunge_all()
        statuses = await asyncio.gather(*(self._deliver(row, to, token) for row, to in jobs))
        counts: dict[str, int] = {}
        for status in statuses:
            counts[status] = counts.get(status, 0) + 1
        return counts

    async def _deliver(self, row: OutboxMessage, recipients: list[Recipient], token: str) -> str:
        receipt: dict[str, Any] = dict(row.receipt or {})
        for recipient in recipients:
            if receipt.get(recipient.key, {}).get("outcome") in ("sent", "rejected"):
                continue
            result = await self._send_one(row, recipient)
            receipt[recipient.key] = {"outcome": result.outcome, "error": result.error, **result.detail}
        status, error, retry_at = self._verdict(row, recipients, receipt)
        sent_via = sorted(
            {key.split(":", 1)[0] for key, item in receipt.items() if item["outcome"] == "sent"}
        )
        async with transaction(self.sessions) as session:
            held = await finish_claim(
                session,
                message_id=row.id,
                token=token,
                status=status,
                clock=self.clock,
                receipt=receipt,
                channel=",".join(sent_via) or None,
                error=error,
                retry_at=retry_at,
            )
        if not held:
            log.warning("outbox_claim_lost", outbox_id=row.id)
        log.info("outbox_delivered", outbox_id=row.id, kind=row.kind, status=status, attempts=row.attempts)
        return status

    async def _send_one(self, row: OutboxMessage, recipient: Recipient) -> DeliveryResult:
        sender = self.senders.get(recipient.channel)
        if sender is None:
            return DeliveryResult.rejected(f"没有 {recipient.channel} 渠道的发送器")
        message = OutboundMessage(
            outbox_id=row.id,
            kind=row.kind,
            text=row.text,
            channel=recipient.channel,
            external_user_id=recipient.external_id,
            conversation_id=recipient.conversation_id,
            account_id=row.account_id,
            payload=dict(row.payload or {}),
        )
        async with self._limit:
            try:
                return await sender.send(message)
            except Exception as exc:  # a sender bug must not strand the row in "sending"
                log.exception("outbox_sender_crashed", outbox_id=row.id, channel=recipient.channel)
                return DeliveryResult.retry(f"{type(exc).__name__}: {exc}"[:500])

    def _verdict(
        self, row: OutboxMessage, recipients: list[Recipient], receipt: dict[str, Any]
    ) -> tuple[str, str | None, Any]:
        if not recipients:
            return "undeliverable", "住户没有可用的消息渠道（未绑定）", None
        outcomes = [receipt[r.key]["outcome"] for r in recipients]
        errors = "; ".join(
            f"{r.key.split(':', 1)[0]}: {receipt[r.key]['error']}"
            for r in recipients
            if receipt[r.key]["error"]
        )
        if "retry" in outcomes:
            if row.attempts < self.policy.max_attempts:
                return "pending", errors, self.clock.now() + self.policy.delay(row.attempts)
            return ("sent" if "sent" in outcomes else "failed"), errors, None
        if "sent" in outcomes:
            return "sent", errors or None, None
        return "failed", errors, None
