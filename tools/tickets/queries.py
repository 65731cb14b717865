"""Read side of tickets for the back office: filtered lists, lookup by number, building incidents."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tools.audit import record_audit
from tools.clock import Clock
from tools.crm.models import Account, Building, Community
from tools.errors import Conflict, NotFound
from tools.tickets.lifecycle import OPEN_STATES
from tools.tickets.models import BuildingIncident, Ticket


def _filtered(
    *,
    status: str | None,
    urgency: str | None,
    category: str | None,
    community: str | None,
    breached: bool | None,
    now: datetime,
) -> Select[tuple[Ticket]]:
    stmt = select(Ticket)
    if status:
        stmt = stmt.where(Ticket.status == status)
    if urgency:
        stmt = stmt.where(Ticket.urgency == urgency)
    if category:
        stmt = stmt.where(Ticket.category == category)
    if community:
        stmt = (
            stmt.join(Account, Account.id == Ticket.account_id)
            .join(Building, Building.id == Account.building_id)
            .join(Community, Community.id == Building.community_id)
            .where(Community.name == community)
        )
    if breached is not None:
        late = Ticket.status.in_(OPEN_STATES) & Ticket.arrived_at.is_(None) & (Ticket.sla_due_at <= now)
        stmt = stmt.where(late if breached else ~late)
    return stmt


async def list_tickets(
    session: AsyncSession,
    *,
    now: datetime,
    status: str | None = None,
    urgency: str | None = None,
    category: str | None = None,
    community: str | None = None,
    breached: bool | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[int, list[Ticket]]:
    """Newest first, with the total for paging."""
    stmt = _filtered(
        status=status, urgency=urgency, category=category, community=community, breached=breached, now=now
    )
    total = await session.scalar(select(func.count()).select_from(stmt.subquery()))
    page = await session.scalars(
        stmt.order_by(Ticket.created_at.desc(), Ticket.ticket_no.desc()).limit(limit).offset(offset)
    )
    return int(total or 0), list(page)


async def ticket_by_no(session: AsyncSession, ticket_no: str) -> Ticket:
    ticket = await session.scalar(select(Ticket).where(Ticket.ticket_no == ticket_no.strip().upper()))
    if ticket is None:
        raise NotFound("未找到该工单")
    return ticket


async def open_incidents(session: AsyncSession) -> list[tuple[BuildingIncident, str, list[Ticket]]]:
    """Open building incidents, each with its building's label and linked tickets."""
    incidents = list(
        await session.scalars(
            select(BuildingIncident)
            .where(BuildingIncident.status == "open")
            .order_by(BuildingIncident.opened_at)
        )
    )
    result = []
    for incident in incidents:
        building = await session.get(Building, incident.building_id)
        tickets = list(
            await session.scalars(
                select(Ticket).where(Ticket.incident_id == incident.id).order_by(Ticket.created_at)
            )
        )
        result.append((incident, building.label if building else "", tickets))
    return result


async def resolve_incident(
    session: AsyncSession, *, incident_id: str, note: str, actor: str, clock: Clock
) -> BuildingIncident:
    incident = await session.get(BuildingIncident, incident_id)
    if incident is None:
        raise NotFound("未找到该楼栋告警")
    if incident.status != "open":
        raise Conflict("该告警已处理", code="already_resolved")
    incident.status, incident.resolved_at = "resolved", clock.now()
    if note:
        incident.note = f"{incident.note}\n{note}".strip()
    await record_audit(
        session,
        clock=clock,
        actor=actor,
        action="building_alert_resolved",
        target_type="building",
        target_id=incident.building_id,
        reason=note or None,
        details={"incident_id": incident.id},
    )
    return incident
