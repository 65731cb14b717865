"""Building alerts: many accounts of one building without heat at once points to a shared fault
(二次管网, 单元阀门) rather than N separate flats, so supervisors get one incident, not N tickets."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tools.audit import record_audit
from tools.clock import Clock
from tools.crm.models import Account
from tools.settings import Settings
from tools.tickets.models import BuildingIncident, Ticket


async def check_building_alert(
    session: AsyncSession, *, ticket: Ticket, clock: Clock, settings: Settings
) -> BuildingIncident | None:
    """Open (or join) the building's incident when enough accounts reported no heat in the window."""
    if ticket.category != "no_heat":
        return None
    account = await session.get(Account, ticket.account_id)
    building_id = account.building_id
    open_incident = await session.scalar(
        select(BuildingIncident).where(
            BuildingIncident.building_id == building_id,
            BuildingIncident.category == "no_heat",
            BuildingIncident.status == "open",
        )
    )
    if open_incident is not None:
        ticket.incident_id = open_incident.id
        open_incident.report_count += 1
        await session.flush()
        return None
    since = clock.now() - settings.building_alert_window
    recent = (
        select(Ticket)
        .join(Account, Ticket.account_id == Account.id)
        .where(Account.building_id == building_id, Ticket.category == "no_heat", Ticket.created_at >= since)
    )
    accounts = await session.scalar(select(func.count(func.distinct(recent.subquery().c.account_id))))
    if int(accounts or 0) < settings.building_alert_threshold:
        return None
    incident = BuildingIncident(
        building_id=building_id,
        category="no_heat",
        opened_at=clock.now(),
        report_count=int(accounts),
        note="可能为二次管网/单元阀门故障",
    )
    session.add(incident)
    await session.flush()
    for linked in await session.scalars(recent):
        linked.incident_id = incident.id
    await record_audit(
        session,
        clock=clock,
        actor="system",
        action="building_alert",
        target_type="building",
        target_id=building_id,
        details={"incident_id": incident.id, "accounts": int(accounts), "label": account.building.label},
    )
    await session.flush()
    return incident
