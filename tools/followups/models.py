"""Follow-up surveys (回访) sent when a repair ticket is completed.

One survey per ticket and completion round: a ticket reopened after a bad answer and completed
again is surveyed again (``round`` is the ticket's ``reopen_count`` at completion).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tools.db import Base, IdMixin, JSONType, UTCDateTime
from tools.labels import sql_in

SURVEY_STATUSES = ("pending", "answered", "expired")
SURVEY_OUTCOMES = ("visited", "reopened", "escalated", "recorded")


class Survey(IdMixin, Base):
    __tablename__ = "surveys"
    __table_args__ = (
        UniqueConstraint("ticket_id", "round"),
        CheckConstraint(f"status IN {sql_in(SURVEY_STATUSES)}", name="status"),
        CheckConstraint("score IS NULL OR (score >= 1 AND score <= 5)", name="score_range"),
    )

    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id"), index=True)
    round: Mapped[int] = mapped_column(Integer, default=0)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    conversation_id: Mapped[str | None] = mapped_column(ForeignKey("conversations.id"), index=True)
    worker_id: Mapped[str | None] = mapped_column(ForeignKey("workers.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="pending", index=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    answer_message_id: Mapped[str | None] = mapped_column(ForeignKey("messages.id"))
    answer_text: Mapped[str | None] = mapped_column(Text)
    score: Mapped[int | None] = mapped_column(Integer)
    sentiment: Mapped[str | None] = mapped_column(String(16))
    hidden_dissatisfaction: Mapped[bool] = mapped_column(default=False)
    flagged: Mapped[bool] = mapped_column(default=False, index=True)
    praised_worker_id: Mapped[str | None] = mapped_column(ForeignKey("workers.id"))
    outcome: Mapped[str | None] = mapped_column(String(12))
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


__all__ = ["Survey"]
