"""Proactive care campaigns (主动关怀): a message to residents chosen by tag and place."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tools.db import Base, IdMixin, JSONType, UTCDateTime
from tools.labels import sql_in

CAMPAIGN_KINDS = ("care", "notice")
CAMPAIGN_STATUSES = ("draft", "sent")


class Campaign(IdMixin, Base):
    __tablename__ = "campaigns"
    __table_args__ = (
        CheckConstraint(f"kind IN {sql_in(CAMPAIGN_KINDS)}", name="kind"),
        CheckConstraint(f"status IN {sql_in(CAMPAIGN_STATUSES)}", name="status"),
    )

    name: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(12), default="care")
    text: Mapped[str] = mapped_column(Text)
    target: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    status: Mapped[str] = mapped_column(String(12), default="draft", index=True)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CampaignRecipient(IdMixin, Base):
    __tablename__ = "campaign_recipients"
    __table_args__ = (UniqueConstraint("campaign_id", "account_id"),)

    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"), index=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    outbox_id: Mapped[str | None] = mapped_column(ForeignKey("outbox.id"))
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime())


__all__ = ["Campaign", "CampaignRecipient"]
