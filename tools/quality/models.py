"""Quality inspection (质检) results: one review per conversation, rescored when it grows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tools.db import Base, IdMixin, JSONType, UTCDateTime


class QualityReview(IdMixin, Base):
    __tablename__ = "quality_reviews"

    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), unique=True)
    handler: Mapped[str] = mapped_column(String(8), index=True)  # bot | agent
    staff_id: Mapped[str | None] = mapped_column(ForeignKey("staff_users.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    score: Mapped[int] = mapped_column(Integer)  # 0-100
    flagged: Mapped[bool] = mapped_column(default=False, index=True)
    flags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    first_response_s: Mapped[float | None] = mapped_column(Float)
    emotion_start: Mapped[str | None] = mapped_column(String(16))
    emotion_end: Mapped[str | None] = mapped_column(String(16))
    scored_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    scored_through: Mapped[datetime | None] = mapped_column(UTCDateTime())  # last message covered
    message_count: Mapped[int] = mapped_column(Integer, default=0)


__all__ = ["QualityReview"]
