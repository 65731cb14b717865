"""Repair tickets with a resident-readable timeline, attachments, and building incidents."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tools.db import Base, IdMixin, TimestampMixin, UTCDateTime
from tools.labels import CATEGORIES, URGENCIES, sql_in

# Lifecycle states in Chinese, as residents read them on the tracking page.
TICKET_STATUSES = ("已受理", "已派工", "师傅已出发", "已到场", "已完成", "已回访", "已关闭", "已取消")
# Timeline events residents never see (nor get notified of): notes staff write for each other.
STAFF_ONLY_KINDS = frozenset({"internal"})


class Ticket(IdMixin, TimestampMixin, Base):
    __tablename__ = "tickets"
    __table_args__ = (
        CheckConstraint(f"category IN {sql_in(CATEGORIES)}", name="category"),
        CheckConstraint(f"urgency IN {sql_in(URGENCIES)}", name="urgency"),
        CheckConstraint(f"status IN {sql_in(TICKET_STATUSES)}", name="status"),
    )

    ticket_no: Mapped[str] = mapped_column(String(24), unique=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    conversation_id: Mapped[str | None] = mapped_column(ForeignKey("conversations.id"), index=True)
    category: Mapped[str] = mapped_column(String(24), index=True)
    urgency: Mapped[str] = mapped_column(String(12), index=True)
    description: Mapped[str] = mapped_column(Text)
    address: Mapped[str] = mapped_column(String(160))
    contact_phone: Mapped[str] = mapped_column(String(20), default="")
    status: Mapped[str] = mapped_column(String(12), default="已受理", index=True)
    worker_id: Mapped[str | None] = mapped_column(ForeignKey("workers.id"), index=True)
    eta_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    eta_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sla_due_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    incident_id: Mapped[str | None] = mapped_column(ForeignKey("building_incidents.id"), index=True)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    duplicate_reports: Mapped[int] = mapped_column(Integer, default=0)
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    # When the SLA scan raised its alert, so each ticket alerts once (see tickets/sla.py).
    sla_breach_alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sla_risk_alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", order_by="TicketEvent.seq", lazy="selectin"
    )
    attachments: Mapped[list[TicketAttachment]] = relationship(back_populates="ticket", lazy="selectin")

    @property
    def resident_events(self) -> list[TicketEvent]:
        """The timeline a resident may read: everything but staff-only notes."""
        return [event for event in self.events if event.kind not in STAFF_ONLY_KINDS]


class TicketEvent(IdMixin, Base):
    """One line of the tracking page: a status change, an ETA, a note or a repeated report."""

    __tablename__ = "ticket_events"

    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(16))  # status | eta | note | report | internal
    status: Mapped[str] = mapped_column(String(12))
    message: Mapped[str] = mapped_column(Text)
    worker_name: Mapped[str | None] = mapped_column(String(60))
    eta_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    eta_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(80), default="system")

    ticket: Mapped[Ticket] = relationship(back_populates="events")


class TicketAttachment(IdMixin, Base):
    __tablename__ = "ticket_attachments"

    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id"), index=True)
    path: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(60))
    size: Mapped[int] = mapped_column(Integer)
    original_name: Mapped[str] = mapped_column(String(160), default="")
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    uploaded_by: Mapped[str | None] = mapped_column(String(80))

    ticket: Mapped[Ticket] = relationship(back_populates="attachments")


class BuildingIncident(IdMixin, TimestampMixin, Base):
    """Many accounts of one building reporting the same fault: likely a shared pipe or valve."""

    __tablename__ = "building_incidents"

    building_id: Mapped[str] = mapped_column(ForeignKey("buildings.id"), index=True)
    category: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(12), default="open", index=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    report_count: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str] = mapped_column(Text, default="")
