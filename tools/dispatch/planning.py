"""Re-plan one worker's open visits and keep residents' ETA windows in step with the plan.

Visits already under way (师傅已出发 / 已到场) stay first; the rest go to the route planner from
the point where the worker will be free. Each resident whose promised window moves gets a timeline
line (and its outbox notification) saying so; a window that did not move says nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tools.clock import COMPANY_TZ, Clock
from tools.crm.models import Account, Building
from tools.dispatch.board import shift_bounds
from tools.dispatch.geo import Point, service_minutes
from tools.dispatch.models import ASSIGNMENT_ACTIVE, Assignment, Worker
from tools.dispatch.routing import RoutePlan, Shift, Visit, plan_route
from tools.settings import Settings
from tools.tickets.lifecycle import OPEN_STATES
from tools.tickets.models import Ticket
from tools.tickets.service import add_event

UNDER_WAY = ("departed", "arrived")


def eta_window(start: datetime, urgency: str) -> tuple[datetime, datetime]:
    """The planned arrival rounded down to the half hour; two hours wide (one for emergencies)."""
    local = start.astimezone(COMPANY_TZ)
    floor = local.replace(minute=0 if local.minute < 30 else 30, second=0, microsecond=0)
    width = timedelta(hours=1 if urgency == "emergency" else 2)
    return floor.astimezone(start.tzinfo), (floor + width).astimezone(start.tzinfo)


def window_text(eta: tuple[datetime, datetime]) -> str:
    start, end = (moment.astimezone(COMPANY_TZ) for moment in eta)
    return f"{start:%m月%d日 %H:%M}-{end:%H:%M}"


def _shifts(worker: Worker, first_start: datetime, origin: Point) -> Iterator[Shift]:
    start, end = shift_bounds(worker, first_start)
    yield Shift(max(start, first_start), end, origin)
    home = (worker.home_lat, worker.home_lon)
    while True:
        start, end = shift_bounds(worker, end)
        yield Shift(start, end, home)


async def _open_visits(session: AsyncSession, worker_id: str) -> list[tuple[Assignment, Ticket, Point]]:
    rows = await session.execute(
        select(Assignment, Ticket, Building.lat, Building.lon)
        .join(Ticket, Ticket.id == Assignment.ticket_id)
        .join(Account, Account.id == Ticket.account_id)
        .join(Building, Building.id == Account.building_id)
        .where(
            Assignment.worker_id == worker_id,
            Assignment.status.in_(ASSIGNMENT_ACTIVE),
            Ticket.status.in_(OPEN_STATES),
        )
        .order_by(Assignment.sequence.is_(None), Assignment.sequence, Assignment.assigned_at)
    )
    visits = []
    for assignment, ticket, lat, lon in rows:
        point = (lat, lon) if lat is not None and lon is not None else (0.0, 0.0)
        visits.append((assignment, ticket, point))
    return visits


async def replan_worker(
    session: AsyncSession,
    *,
    worker: Worker,
    clock: Clock,
    settings: Settings,
    reason: str = "师傅行程调整",
) -> RoutePlan:
    """Order the worker's open visits, write sequence and planned times, re-announce moved ETAs."""
    now = clock.now()
    rows = await _open_visits(session, worker.id)
    under_way = [row for row in rows if row[0].status in UNDER_WAY]
    waiting = [row for row in rows if row[0].status not in UNDER_WAY]
    free_at, origin = now, (worker.home_lat, worker.home_lon)
    if not under_way:
        origin = await _last_stop(session, worker, now) or origin
    for sequence, (assignment, ticket, point) in enumerate(under_way, start=1):
        assignment.sequence = sequence
        end = assignment.planned_end or now + timedelta(minutes=service_minutes(ticket.category))
        free_at, origin = max(free_at, end), point
    visits = [
        Visit(
            key=assignment.id,
            point=point,
            service_min=service_minutes(ticket.category),
            due=ticket.sla_due_at,
            emergency=ticket.urgency == "emergency",
            promised_by=ticket.eta_end if ticket.status == "已派工" else None,
        )
        for assignment, ticket, point in waiting
    ]
    plan = plan_route(
        visits,
        _shifts(worker, free_at, origin),
        speed_kmh=settings.dispatch_speed_kmh,
        time_limit_s=settings.routing_time_limit_s,
    )
    planned = plan.by_key()
    for assignment, ticket, _point in waiting:
        slot = planned[assignment.id]
        assignment.sequence = len(under_way) + slot.sequence
        assignment.planned_start, assignment.planned_end = slot.start, slot.end
        assignment.plan_method = plan.method
        if ticket.status != "已派工":
            continue  # not yet announced: the dispatch itself tells the resident
        if ticket.eta_start and ticket.eta_end and ticket.eta_start <= slot.start < ticket.eta_end:
            continue  # still inside the window the resident was told: no news is good news
        eta = eta_window(slot.start, ticket.urgency)
        if (ticket.eta_start, ticket.eta_end) != eta:
            ticket.eta_start, ticket.eta_end = eta
            await add_event(
                session,
                ticket,
                kind="eta",
                message=f"{reason}，预计上门时段更新为{window_text(eta)}。",
                clock=clock,
                worker_name=worker.name,
                eta=eta,
            )
    await session.flush()
    return plan


async def _last_stop(session: AsyncSession, worker: Worker, now: datetime) -> Point | None:
    """Where today's last finished visit was: the worker starts the rest of the day from there."""
    since = now - timedelta(hours=12)
    row = (
        await session.execute(
            select(Building.lat, Building.lon)
            .join(Account, Account.building_id == Building.id)
            .join(Ticket, Ticket.account_id == Account.id)
            .join(Assignment, Assignment.ticket_id == Ticket.id)
            .where(
                Assignment.worker_id == worker.id,
                Assignment.status == "done",
                Assignment.finished_at >= since,
            )
            .order_by(Assignment.finished_at.desc())
            .limit(1)
        )
    ).one_or_none()
    if row is None or row[0] is None or row[1] is None:
        return None
    return (row[0], row[1])
