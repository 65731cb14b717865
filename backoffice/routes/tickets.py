"""Back-office tickets: filtered list, detail with timeline and photos, dispatch, reassign, transitions,
internal notes.

Agents, supervisors and admins read (masked, like every staff view) and dispatch; only supervisors
reassign a dispatched ticket. A manual status change names its reason, which goes on the timeline
and in the audit log; the lifecycle table still decides what is allowed (409 otherwise), and the
detail lists the statuses it allows next so the console offers only those. Internal notes are
on the staff timeline only: the resident neither sees them nor is notified.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy import select

from backoffice.deps import CurrentStaff, ServicesDep, SessionDep, require_roles
from tools.audit import record_audit
from tools.dispatch.models import Worker
from tools.dispatch.schemas import DispatchResult
from tools.dispatch.service import DispatchOutcome, assign_ticket, reassign
from tools.errors import Conflict, NotFound
from tools.labels import Category, Urgency
from tools.tickets.lifecycle import TRANSITIONS
from tools.tickets.models import TICKET_STATUSES, TicketAttachment
from tools.tickets.queries import list_tickets, ticket_by_no
from tools.tickets.schemas import TicketCard, TicketDetail, TicketPage, TimelineEvent
from tools.tickets.service import add_event, transition

router = APIRouter(
    prefix="/api/v1/backoffice/tickets",
    tags=["tickets"],
    dependencies=[Depends(require_roles("agent", "supervisor"))],
)
Supervisor = Depends(require_roles("supervisor"))


class DispatchIn(BaseModel):
    worker_code: str | None = Field(default=None, max_length=20, description="空 = 自动选择师傅")


class ReassignIn(DispatchIn):
    reason: str = Field(min_length=2, max_length=200)


class TransitionIn(BaseModel):
    status: str = Field(max_length=12)
    reason: str = Field(min_length=2, max_length=200)


# Edges dispatch owns: a manual 已派工 would have no worker, and a manual step back from 已派工 would
# leave the visit on the worker's route. The console offers 派单 / 改派 for them instead.
DISPATCH_EDGES = frozenset({("已受理", "已派工"), ("已派工", "已受理")})


def manual_next_statuses(status: str) -> list[str]:
    allowed = TRANSITIONS.get(status, frozenset())
    return [s for s in TICKET_STATUSES if s in allowed and (status, s) not in DISPATCH_EDGES]


class NoteIn(BaseModel):
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]


class TicketView(TicketDetail):
    worker_code: str | None
    worker_name: str | None
    next_statuses: list[str]


async def _worker_id(session: SessionDep, code: str | None) -> str | None:
    if not code:
        return None
    worker = await session.scalar(select(Worker).where(Worker.code == code.strip().upper()))
    if worker is None:
        raise NotFound("未找到该师傅")
    return worker.id


def _result(outcome: DispatchOutcome) -> DispatchResult:
    return DispatchResult(
        ticket_no=outcome.ticket.ticket_no,
        worker_code=outcome.worker.code,
        worker_name=outcome.worker.name,
        eta_start=outcome.eta[0],
        eta_end=outcome.eta[1],
        preempted=outcome.preempted,
        plan_method=outcome.plan_method,
    )


@router.get("")
async def tickets(
    session: SessionDep,
    services: ServicesDep,
    status: Annotated[str | None, Query(max_length=12)] = None,
    urgency: Urgency | None = None,
    category: Category | None = None,
    community: Annotated[str | None, Query(max_length=60)] = None,
    breached: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,  # beyond: a DB integer overflow, not a page
) -> TicketPage:
    now = services.clock.now()
    total, items = await list_tickets(
        session,
        now=now,
        status=status,
        urgency=urgency,
        category=category,
        community=community,
        breached=breached,
        limit=limit,
        offset=offset,
    )
    return TicketPage(total=total, items=[TicketCard.of(ticket, now=now) for ticket in items])


@router.get("/{ticket_no}")
async def detail(ticket_no: str, session: SessionDep, services: ServicesDep) -> TicketView:
    ticket = await ticket_by_no(session, ticket_no)
    await session.refresh(ticket, ["events", "attachments"])
    worker = await session.get(Worker, ticket.worker_id) if ticket.worker_id else None
    return TicketView(
        **TicketDetail.of(ticket, now=services.clock.now()).model_dump(),
        worker_code=worker.code if worker else None,
        worker_name=worker.name if worker else None,
        next_statuses=manual_next_statuses(ticket.status),
    )


@router.post("/{ticket_no}/notes", status_code=201)
async def add_note(
    ticket_no: str, body: NoteIn, session: SessionDep, services: ServicesDep, staff: CurrentStaff
) -> TimelineEvent:
    """An internal note on the staff timeline (never shown or sent to the resident)."""
    ticket = await ticket_by_no(session, ticket_no)
    event = await add_event(
        session,
        ticket,
        kind="internal",
        message=body.text,
        clock=services.clock,
        actor=f"staff:{staff.staff_id}",
    )
    return TimelineEvent.of(event)


@router.get(
    "/{ticket_no}/attachments/{attachment_id}",
    response_class=FileResponse,
    responses={200: {"content": {"image/*": {"schema": {"type": "string", "format": "binary"}}}}},
)
async def attachment(
    ticket_no: str, attachment_id: str, session: SessionDep, services: ServicesDep
) -> FileResponse:
    ticket = await ticket_by_no(session, ticket_no)
    item = await session.get(TicketAttachment, attachment_id)
    path = services.settings.uploads_dir / item.path if item is not None else None
    if item is None or item.ticket_id != ticket.id or path is None or not path.is_file():
        raise NotFound("未找到该附件")
    return FileResponse(path, media_type=item.content_type)


@router.post("/{ticket_no}/dispatch")
async def dispatch(
    ticket_no: str, body: DispatchIn, session: SessionDep, services: ServicesDep, staff: CurrentStaff
) -> DispatchResult:
    """Dispatch a 已受理 ticket to the best worker (or the one named)."""
    ticket = await ticket_by_no(session, ticket_no)
    outcome = await assign_ticket(
        session,
        ticket=ticket,
        clock=services.clock,
        settings=services.settings,
        worker_id=await _worker_id(session, body.worker_code),
        actor=f"staff:{staff.staff_id}",
    )
    return _result(outcome)


@router.post("/{ticket_no}/reassign", dependencies=[Supervisor])
async def reassign_ticket(
    ticket_no: str, body: ReassignIn, session: SessionDep, services: ServicesDep, staff: CurrentStaff
) -> DispatchResult:
    ticket = await ticket_by_no(session, ticket_no)
    outcome = await reassign(
        session,
        ticket=ticket,
        clock=services.clock,
        settings=services.settings,
        reason=body.reason,
        actor=f"staff:{staff.staff_id}",
        worker_id=await _worker_id(session, body.worker_code),
    )
    await record_audit(
        session,
        clock=services.clock,
        actor=f"staff:{staff.staff_id}",
        action="ticket_reassigned",
        target_type="ticket",
        target_id=ticket.id,
        reason=body.reason,
        details={"worker": outcome.worker.code},
    )
    return _result(outcome)


@router.post("/{ticket_no}/transition")
async def change_status(
    ticket_no: str, body: TransitionIn, session: SessionDep, services: ServicesDep, staff: CurrentStaff
) -> TicketCard:
    ticket = await ticket_by_no(session, ticket_no)
    before = ticket.status
    if (before, body.status) in DISPATCH_EDGES:
        action = "派单" if body.status == "已派工" else "改派"
        raise Conflict(f"请使用“{action}”完成这一步，以便同步师傅的行程", code="use_dispatch")
    await transition(
        session,
        ticket,
        body.status,
        clock=services.clock,
        message=f"工单状态由客服更新为“{body.status}”：{body.reason}",
        actor=f"staff:{staff.staff_id}",
    )
    await record_audit(
        session,
        clock=services.clock,
        actor=f"staff:{staff.staff_id}",
        action="ticket_transition",
        target_type="ticket",
        target_id=ticket.id,
        reason=body.reason,
        details={"from": before, "to": body.status},
    )
    return TicketCard.of(ticket, now=services.clock.now())
