"""Conversations and messages, independent of the channel they came through.

A conversation is owned either by the bot (``owner_staff_id`` is null) or by one agent; the
take-over is a conditional update on that column so exactly one agent wins. It is ``open`` until an
agent or the idle job closes it, and reopens when the resident writes again (closing.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tools.db import Base, IdMixin, JSONType, TimestampMixin, UTCDateTime
from tools.labels import CATEGORIES, EMOTIONS, URGENCIES, sql_in

SENDERS = ("resident", "bot", "agent", "system")


class Conversation(IdMixin, TimestampMixin, Base):
    __tablename__ = "conversations"

    channel: Mapped[str] = mapped_column(String(16), index=True)
    identity_id: Mapped[str | None] = mapped_column(ForeignKey("channel_identities.id"), index=True)
    account_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    owner_staff_id: Mapped[str | None] = mapped_column(ForeignKey("staff_users.id"), index=True)
    handoff_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    handoff_summary: Mapped[str | None] = mapped_column(Text)
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    last_category: Mapped[str | None] = mapped_column(String(24))
    last_emotion: Mapped[str | None] = mapped_column(String(16))
    last_urgency: Mapped[str | None] = mapped_column(String(12))
    token_hash: Mapped[str | None] = mapped_column(String(64))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # "staff:<id>" for an agent's close, "system:auto_close" for the idle job (see closing.py).
    closed_by: Mapped[str | None] = mapped_column(String(80))
    reopen_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    @property
    def owner(self) -> str:
        return self.owner_staff_id or "bot"


class Message(IdMixin, Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "seq"),
        UniqueConstraint("conversation_id", "external_id"),
        CheckConstraint(f"sender IN {sql_in(SENDERS)}", name="sender"),
        CheckConstraint(f"category IS NULL OR category IN {sql_in(CATEGORIES)}", name="category"),
        CheckConstraint(f"emotion IS NULL OR emotion IN {sql_in(EMOTIONS)}", name="emotion"),
        CheckConstraint(f"urgency IS NULL OR urgency IN {sql_in(URGENCIES)}", name="urgency"),
    )

    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    external_id: Mapped[str | None] = mapped_column(String(128))
    sender: Mapped[str] = mapped_column(String(12))
    staff_id: Mapped[str | None] = mapped_column(ForeignKey("staff_users.id"))
    text: Mapped[str] = mapped_column(Text)
    normalized_text: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(24), index=True)
    emotion: Mapped[str | None] = mapped_column(String(16))
    urgency: Mapped[str | None] = mapped_column(String(12))
    confidence: Mapped[float | None] = mapped_column(Float)
    internal: Mapped[bool] = mapped_column(default=False)  # agents' notes, never sent
    meta: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


__all__ = ["Conversation", "Message"]
