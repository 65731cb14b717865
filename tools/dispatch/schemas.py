"""Dispatch views: a worker's own route (full address and phone: he must find and call the flat)
and the supervisors' board (masked, like every other back-office view)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from tools.dispatch.models import Assignment, Worker
from tools.masking import mask_address
from tools.tickets.models import Ticket


class VisitBase(BaseModel):
    assignment_id: str
    sequence: int | None
    status: str
    ticket_no: str
    ticket_status: str
    category: str
    urgency: str
    planned_start: datetime | None
    planned_end: datetime | None
    eta_start: datetime | None
    eta_end: datetime | None
    sla_due_at: datetime
    plan_method: str | None


def _base(assignment: Assignment, ticket: Ticket) -> dict:
    return {
        "assignment_id": assignment.id,
        "sequence": assignment.sequence,
        "status": assignment.status,
        "ticket_no": ticket.ticket_no,
        "ticket_status": ticket.status,
        "category": ticket.category,
        "urgency": ticket.urgency,
        "planned_start": assignment.planned_start,
        "planned_end": assignment.planned_end,
        "eta_start": ticket.eta_start,
        "eta_end": ticket.eta_end,
        "sla_due_at": ticket.sla_due_at,
        "plan_method": assignment.plan_method,
    }


class WorkerVisit(VisitBase):
    """What the assigned worker sees: the full address and phone (each view is audited)."""

    address: str
    contact_phone: str
    description: str

    @classmethod
    def of(cls, assignment: Assignment, ticket: Ticket) -> WorkerVisit:
        return cls(
            **_base(assignment, ticket),
            address=ticket.address,
            contact_phone=ticket.contact_phone,
            description=ticket.description,
        )


class BoardVisit(VisitBase):
    address: str

    @classmethod
    def of(cls, assignment: Assignment, ticket: Ticket) -> BoardVisit:
        return cls(**_base(assignment, ticket), address=mask_address(ticket.address))


class WorkerRoute(BaseModel):
    worker_code: str
    worker_name: str
    visits: list[WorkerVisit]


class BoardRow(BaseModel):
    worker_code: str
    worker_name: str
    district: str
    skills: list[str]
    shift: str
    on_shift: bool
    visits: list[BoardVisit]

    @classmethod
    def of(cls, worker: Worker, visits: list[BoardVisit], *, on_shift: bool) -> BoardRow:
        return cls(
            worker_code=worker.code,
            worker_name=worker.name,
            district=worker.district,
            skills=list(worker.skills or []),
            shift=f"{worker.shift_start:%H:%M}-{worker.shift_end:%H:%M}",
            on_shift=on_shift,
            visits=visits,
        )


class DispatchResult(BaseModel):
    ticket_no: str
    worker_code: str
    worker_name: str
    eta_start: datetime
    eta_end: datetime
    preempted: bool
    plan_method: str
