"""Back-office ticket views. Personal data is masked: staff see the building, not the flat or phone."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from tools.masking import mask_address, mask_phone, mask_text
from tools.tickets.lifecycle import OPEN_STATES
from tools.tickets.models import Ticket, TicketAttachment, TicketEvent


class TicketCard(BaseModel):
    ticket_no: str
    status: str
    category: str
    urgency: str
    address: str
    contact_phone: str
    worker_id: str | None
    eta_start: datetime | None
    eta_end: datetime | None
    sla_due_at: datetime
    breached: bool
    created_at: datetime
    incident_id: str | None
    duplicate_reports: int

    @classmethod
    def of(cls, ticket: Ticket, *, now: datetime) -> TicketCard:
        return cls(
            ticket_no=ticket.ticket_no,
            status=ticket.status,
            category=ticket.category,
            urgency=ticket.urgency,
            address=mask_address(ticket.address),
            contact_phone=mask_phone(ticket.contact_phone),
            worker_id=ticket.worker_id,
            eta_start=ticket.eta_start,
            eta_end=ticket.eta_end,
            sla_due_at=ticket.sla_due_at,
            breached=is_breached(ticket, now=now),
            created_at=ticket.created_at,
            incident_id=ticket.incident_id,
            duplicate_reports=ticket.duplicate_reports,
        )


class TimelineEvent(BaseModel):
    seq: int
    at: datetime
    kind: str
    status: str
    message: str
    worker_name: str | None
    eta_start: datetime | None
    eta_end: datetime | None
    actor: str

    @classmethod
    def of(cls, event: TicketEvent) -> TimelineEvent:
        return cls(
            seq=event.seq,
            at=event.at,
            kind=event.kind,
            status=event.status,
            message=mask_text(event.message),
            worker_name=event.worker_name,
            eta_start=event.eta_start,
            eta_end=event.eta_end,
            actor=event.actor,
        )


class AttachmentView(BaseModel):
    id: str
    content_type: str
    size: int
    original_name: str
    uploaded_at: datetime
    uploaded_by: str | None

    @classmethod
    def of(cls, attachment: TicketAttachment) -> AttachmentView:
        return cls(
            id=attachment.id,
            content_type=attachment.content_type,
            size=attachment.size,
            original_name=attachment.original_name,
            uploaded_at=attachment.uploaded_at,
            uploaded_by=attachment.uploaded_by,
        )


class TicketDetail(TicketCard):
    description: str
    timeline: list[TimelineEvent]
    attachments: list[AttachmentView]

    @classmethod
    def of(cls, ticket: Ticket, *, now: datetime) -> TicketDetail:  # type: ignore[override]
        return cls(
            **TicketCard.of(ticket, now=now).model_dump(),
            description=mask_text(ticket.description),
            timeline=[TimelineEvent.of(event) for event in ticket.events],
            attachments=[AttachmentView.of(item) for item in ticket.attachments],
        )


class TicketPage(BaseModel):
    total: int
    items: list[TicketCard]


def is_breached(ticket: Ticket, *, now: datetime) -> bool:
    return ticket.status in OPEN_STATES and ticket.arrived_at is None and ticket.sla_due_at <= now
