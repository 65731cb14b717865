"""The knowledge-base document registry: what exists, which version is live, where it applies.

Chroma holds the vectors; this registry is the source of truth for status, versions, validity
and scope, so a retired or expired document can be filtered out even if its vectors linger.
Scope is stored by name (小区, 楼) rather than by foreign key: the KB must not depend on the
CRM module, and a notice written for "锦绣花园/3号楼" stays meaningful on its own.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tools.db import Base, IdMixin, JSONType, TimestampMixin, UTCDateTime
from tools.labels import sql_in

DOC_KINDS = ("doc", "faq", "notice")
DOC_STATUSES = ("draft", "proposed", "active", "retired", "rejected")
AUDIENCES = ("resident", "staff")


class KbDocument(IdMixin, TimestampMixin, Base):
    __tablename__ = "kb_documents"
    __table_args__ = (
        CheckConstraint(f"kind IN {sql_in(DOC_KINDS)}", name="kind"),
        CheckConstraint(f"status IN {sql_in(DOC_STATUSES)}", name="status"),
        CheckConstraint(f"audience IN {sql_in(AUDIENCES)}", name="audience"),
    )

    slug: Mapped[str] = mapped_column(String(120), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(12), default="doc")
    audience: Mapped[str] = mapped_column(String(12), default="resident")
    status: Mapped[str] = mapped_column(String(12), default="active", index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    content: Mapped[str] = mapped_column(Text)
    questions: Mapped[list[str]] = mapped_column(JSONType, default=list)  # FAQ variants
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    scope_community: Mapped[str | None] = mapped_column(String(60), index=True)
    scope_building: Mapped[str | None] = mapped_column(String(20))
    source_path: Mapped[str | None] = mapped_column(String(255))
    content_hash: Mapped[str] = mapped_column(String(64))
    updated_by: Mapped[str] = mapped_column(String(80), default="system")

    @property
    def scope(self) -> str:
        if not self.scope_community:
            return "company"
        return self.scope_community + (f"/{self.scope_building}" if self.scope_building else "")


class KbDocumentVersion(IdMixin, Base):
    __tablename__ = "kb_document_versions"
    __table_args__ = (UniqueConstraint("document_id", "version"),)

    document_id: Mapped[str] = mapped_column(ForeignKey("kb_documents.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12))
    changed_by: Mapped[str] = mapped_column(String(80))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    note: Mapped[str] = mapped_column(Text, default="")


# --- self-update: what the bot could not answer, the topics mined from it, proposed entries ---

GAP_REASONS = ("abstained", "low_confidence", "handed_off", "negative_feedback")
PROPOSAL_SOURCES = ("mining", "agent_answer")
PROPOSAL_STATUSES = ("proposed", "approved", "rejected")


class UnansweredQuestion(IdMixin, Base):
    """One resident question the knowledge base failed on. Conversation and message ids are kept
    as plain strings: the KB must not depend on the conversations module."""

    __tablename__ = "kb_unanswered_questions"
    __table_args__ = (
        UniqueConstraint("message_id", "reason"),
        CheckConstraint(f"reason IN {sql_in(GAP_REASONS)}", name="reason"),
    )

    question: Mapped[str] = mapped_column(Text)  # normalised and masked
    conversation_id: Mapped[str | None] = mapped_column(String(32), index=True)
    message_id: Mapped[str] = mapped_column(String(64))
    confidence: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(String(20))
    category: Mapped[str | None] = mapped_column(String(24))
    scope_community: Mapped[str | None] = mapped_column(String(60))
    scope_building: Mapped[str | None] = mapped_column(String(20))
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class HotTopic(IdMixin, Base):
    """One cluster of a mining run (热点问题). A run's topics share ``run_id``; the newest run is
    what the back office shows."""

    __tablename__ = "kb_hot_topics"

    run_id: Mapped[str] = mapped_column(String(32), index=True)
    mined_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime())
    window_end: Mapped[datetime] = mapped_column(UTCDateTime())
    label: Mapped[str] = mapped_column(Text)  # the most central question
    keywords: Mapped[list[str]] = mapped_column(JSONType, default=list)
    count: Mapped[int] = mapped_column(Integer)
    previous_count: Mapped[int] = mapped_column(Integer, default=0)
    trend: Mapped[str] = mapped_column(String(12))
    examples: Mapped[list[str]] = mapped_column(JSONType, default=list)
    question_ids: Mapped[list[str]] = mapped_column(JSONType, default=list)
    proposal_id: Mapped[str | None] = mapped_column(String(32))


class KbProposal(IdMixin, TimestampMixin, Base):
    """A proposed FAQ entry. Nothing here is searchable: approval creates the FAQ document."""

    __tablename__ = "kb_proposals"
    __table_args__ = (
        CheckConstraint(f"source IN {sql_in(PROPOSAL_SOURCES)}", name="source"),
        CheckConstraint(f"status IN {sql_in(PROPOSAL_STATUSES)}", name="status"),
    )

    source: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(12), default="proposed", index=True)
    dedupe_key: Mapped[str] = mapped_column(String(120), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    questions: Mapped[list[str]] = mapped_column(JSONType, default=list)
    answer: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")
    asked_count: Mapped[int] = mapped_column(Integer, default=0)
    conversation_id: Mapped[str | None] = mapped_column(String(32))
    scope_community: Mapped[str | None] = mapped_column(String(60))
    scope_building: Mapped[str | None] = mapped_column(String(20))
    decided_by: Mapped[str | None] = mapped_column(String(80))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_note: Mapped[str | None] = mapped_column(Text)
    document_id: Mapped[str | None] = mapped_column(String(32))
