"""SLA watch: open tickets whose worker is not on site by the due time, and those about to miss it.

A ticket is *breached* when it is open, nobody has arrived and ``sla_due_at`` has passed; *at risk*
when that moment is within ``settings.sla_at_risk_minutes``. The periodic scan records one audit
alert per ticket and kind: the marker column is set with a conditional UPDATE, so two scans
running at once (two job workers, a retry) still alert once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tools.audit import record_audit
from tools.clock import Clock
from tools.settings import Settings
from tools.tickets.lifecycle import OPEN_STATES
from tools.tickets.models import Ticket


@dataclass
class SlaScan:
    breached: list[str] = field(default_factory=list)  # ticket numbers alerted in this run
    at_risk: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.breached or self.at_risk)


def _open_unarrived() -> Select[tuple[Ticket]]:
    return select(Ticket).where(Ticket.status.in_(OPEN_STATES), Ticket.arrived_at.is_(None))


def breached_query(now: datetime) -> Select[tuple[Ticket]]:
    return _open_unarrived().where(Ticket.sla_due_at <= now).order_by(Ticket.sla_due_at)


def at_risk_query(now: datetime, minutes: int) -> Select[tuple[Ticket]]:
    return (
        _open_unarrived()
        .where(Ticket.sla_due_at > now, Ticket.sla_due_at <= now + timedelta(minutes=minutes))
        .order_by(Ticket.sla_due_at)
    )


async def _alert_once(
    session: AsyncSession, ticket: Ticket, *, marker: str, action: str, clock: Clock
) -> bool:
    column = getattr(Ticket, marker)
    result = await session.execute(
        update(Ticket)
        .where(Ticket.id == ticket.id, column.is_(None))
        .values({marker: clock.now()})
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    await record_audit(
        session,
        clock=clock,
        actor="system",
        action=action,
        target_type="ticket",
        target_id=ticket.id,
        details={
            "ticket_no": ticket.ticket_no,
            "urgency": ticket.urgency,
            "status": ticket.status,
            "sla_due_at": ticket.sla_due_at.isoformat(),
            "worker_id": ticket.worker_id,
        },
    )
    return True


async def scan_sla(session: AsyncSession, *, clock: Clock, settings: Settings) -> SlaScan:
    """Alert each newly breached and newly at-risk ticket once. Flushes; the caller commits."""
    now = clock.now()
    scan = SlaScan()
    for ticket in list(
        await session.scalars(breached_query(now).where(Ticket.sla_breach_alerted_at.is_(None)))
    ):
        if await _alert_once(
            session, ticket, marker="sla_breach_alerted_at", action="sla_breach", clock=clock
        ):
            scan.breached.append(ticket.ticket_no)
    risky = at_risk_query(now, settings.sla_at_risk_minutes).where(Ticket.sla_risk_alerted_at.is_(None))
    for ticket in list(await session.scalars(risky)):
        if await _alert_once(
            session, ticket, marker="sla_risk_alerted_at", action="sla_at_risk", clock=clock
        ):
            scan.at_risk.append(ticket.ticket_no)
    return scan
