"""Back-office dispatch: the board (each worker's visits in route order), bulk dispatch, SLA
breaches and building alerts. Reading is for agents and supervisors; running a bulk dispatch and
resolving an alert are supervisor actions."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy import select

from backoffice.deps import CurrentStaff, ServicesDep, SessionDep, require_roles
from tools.dispatch.board import on_shift
from tools.dispatch.models import Worker
from tools.dispatch.schemas import BoardRow, BoardVisit
from tools.dispatch.service import assign_open_tickets
from tools.dispatch.visits import todays_visits
from tools.tickets.queries import open_incidents, resolve_incident
from tools.tickets.schemas import TicketCard
from tools.tickets.sla import at_risk_query, breached_query

router = APIRouter(
    prefix="/api/v1/backoffice",
    tags=["dispatch"],
    dependencies=[Depends(require_roles("agent", "supervisor"))],
)
Supervisor = Depends(require_roles("supervisor"))


class BulkOut(BaseModel):
    assigned: int
    unassigned: list[str]
    plan_methods: dict[str, str]


class SlaOut(BaseModel):
    breached: list[TicketCard]
    at_risk: list[TicketCard]


class IncidentOut(BaseModel):
    id: str
    building: str
    category: str
    status: str
    opened_at: datetime
    report_count: int
    note: str
    tickets: list[TicketCard]


class ResolveIn(BaseModel):
    note: str = Field(default="", max_length=500)


@router.get("/dispatch/board")
async def board(session: SessionDep, services: ServicesDep) -> list[BoardRow]:
    """Every active worker with his open visits in route order and the residents' ETA windows."""
    now = services.clock.now()
    rows = []
    for worker in await session.scalars(select(Worker).where(Worker.active.is_(True)).order_by(Worker.code)):
        visits = [BoardVisit.of(a, t) for a, t in await todays_visits(session, worker_id=worker.id)]
        rows.append(BoardRow.of(worker, visits, on_shift=on_shift(worker, now)))
    return rows


@router.post("/dispatch/run", dependencies=[Supervisor])
async def run_dispatch(session: SessionDep, services: ServicesDep, staff: CurrentStaff) -> BulkOut:
    """Dispatch every 已受理 ticket now: emergencies first, then by SLA due time."""
    outcome = await assign_open_tickets(
        session, clock=services.clock, settings=services.settings, actor=f"staff:{staff.staff_id}"
    )
    return BulkOut(
        assigned=len(outcome.assigned),
        unassigned=outcome.unassigned,
        plan_methods={code: plan.method for code, plan in outcome.plans.items()},
    )


@router.get("/sla/breaches")
async def sla_breaches(session: SessionDep, services: ServicesDep) -> SlaOut:
    """Open tickets past their on-site due time, and those due within the at-risk margin."""
    now = services.clock.now()
    breached = await session.scalars(breached_query(now))
    risky = await session.scalars(at_risk_query(now, services.settings.sla_at_risk_minutes))
    return SlaOut(
        breached=[TicketCard.of(t, now=now) for t in breached],
        at_risk=[TicketCard.of(t, now=now) for t in risky],
    )


@router.get("/alerts")
async def alerts(session: SessionDep, services: ServicesDep) -> list[IncidentOut]:
    now = services.clock.now()
    return [
        IncidentOut(
            id=incident.id,
            building=label,
            category=incident.category,
            status=incident.status,
            opened_at=incident.opened_at,
            report_count=incident.report_count,
            note=incident.note,
            tickets=[TicketCard.of(t, now=now) for t in tickets],
        )
        for incident, label, tickets in await open_incidents(session)
    ]


@router.post("/alerts/{incident_id}/resolve", dependencies=[Supervisor])
async def resolve(
    incident_id: str, body: ResolveIn, session: SessionDep, services: ServicesDep, staff: CurrentStaff
) -> dict[str, str]:
    incident = await resolve_incident(
        session,
        incident_id=incident_id,
        note=body.note,
        actor=f"staff:{staff.staff_id}",
        clock=services.clock,
    )
    return {"id": incident.id, "status": incident.status}
