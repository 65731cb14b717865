"""The audit log: who did what to whose data, and why (PIPL asks for it on every unmasking)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from tools.clock import Clock
from tools.db import Base, IdMixin, JSONType, UTCDateTime


class AuditLog(IdMixin, Base):
    __tablename__ = "audit_log"

    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(80), index=True)
    target_type: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


async def record_audit(
    session: AsyncSession,
    *,
    clock: Clock,
    actor: str,
    action: str,
    target_type: str,
    target_id: str | None = None,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditLog:
    entry = AuditLog(
        at=clock.now(),
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=target_id,
        reason=reason,
        details=details or {},
    )
    session.add(entry)
    await session.flush()
    return entry
