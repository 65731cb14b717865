"""Who could take a ticket: each active worker's shift, position, queue and load, and the ranking.

The board is read once (one query for workers, one for their open visits) and then updated in
memory, so assigning a thousand tickets does not re-read it a thousand times. Ranking is a pure
function of the board: estimated arrival (shift start or now, plus queued work, plus travel from
the last stop) plus small penalties for another district and for load, so work spreads evenly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tools.clock import COMPANY_TZ
from tools.crm.models import Account, Building, Community
from tools.dispatch.geo import Point, haversine_km, service_minutes, travel_minutes
from tools.dispatch.models import ASSIGNMENT_ACTIVE, Assignment, Worker
from tools.tickets.lifecycle import OPEN_STATES
from tools.tickets.models import Ticket

OTHER_DISTRICT_MINUTES = 30
LOAD_MINUTES = 10  # per open visit, on top of the queued time: prefer the less busy of two equals
UNKNOWN_TRAVEL_MINUTES = 30


@dataclass
class WorkerState:
    worker: Worker
    position: Point
    load: int = 0
    queue_minutes: int = 0
    emergencies: int = 0
    ticket_ids: list[str] = field(default_factory=list)

    def add(self, *, category: str, urgency: str, point: Point | None, ticket_id: str) -> None:
        self.load += 1
        self.queue_minutes += service_minutes(category) + UNKNOWN_TRAVEL_MINUTES // 2
        self.emergencies += urgency == "emergency"
        self.ticket_ids.append(ticket_id)
        if point is not None:
            self.position = point


@dataclass(frozen=True)
class Candidate:
    state: WorkerState
    eta: datetime
    distance_km: float | None
    score: float
    on_shift: bool


def shift_bounds(worker: Worker, now: datetime) -> tuple[datetime, datetime]:
    """The current shift if ``now`` is within it, else the next one (aware UTC instants)."""
    local = now.astimezone(COMPANY_TZ)
    for offset in (0, 1):
        day = local.date() + timedelta(days=offset)
        start = datetime.combine(day, worker.shift_start, COMPANY_TZ)
        end = datetime.combine(day, worker.shift_end, COMPANY_TZ)
        if now < end:
            return start.astimezone(UTC), end.astimezone(UTC)
    raise AssertionError("a shift always ends within two days")


def on_shift(worker: Worker, now: datetime) -> bool:
    start, end = shift_bounds(worker, now)
    return start <= now < end


async def ticket_place(session: AsyncSession, ticket: Ticket) -> tuple[Point | None, str | None]:
    """The ticket's building coordinates (or its 小区's) and district."""
    row = (
        await session.execute(
            select(Building.lat, Building.lon, Community.lat, Community.lon, Community.district)
            .join(Account, Account.building_id == Building.id)
            .join(Community, Community.id == Building.community_id)
            .where(Account.id == ticket.account_id)
        )
    ).one_or_none()
    if row is None:
        return None, None
    lat, lon, clat, clon, district = row
    if lat is not None and lon is not None:
        return (lat, lon), district
    return ((clat, clon) if clat is not None and clon is not None else None), district


async def load_board(session: AsyncSession) -> dict[str, WorkerState]:
    workers = list(await session.scalars(select(Worker).where(Worker.active.is_(True)).order_by(Worker.code)))
    board = {w.id: WorkerState(worker=w, position=(w.home_lat, w.home_lon)) for w in workers}
    rows = await session.execute(
        select(Assignment.worker_id, Ticket.id, Ticket.category, Ticket.urgency, Building.lat, Building.lon)
        .join(Ticket, Ticket.id == Assignment.ticket_id)
        .join(Account, Account.id == Ticket.account_id)
        .join(Building, Building.id == Account.building_id)
        .where(Assignment.status.in_(ASSIGNMENT_ACTIVE), Ticket.status.in_(OPEN_STATES))
        .order_by(
            Assignment.worker_id, Assignment.sequence.is_(None), Assignment.sequence, Assignment.assigned_at
        )
    )
    for worker_id, ticket_id, category, urgency, lat, lon in rows:
        state = board.get(worker_id)
        if state is not None:
            point = (lat, lon) if lat is not None and lon is not None else None
            state.add(category=category, urgency=urgency, point=point, ticket_id=ticket_id)
    return board


def _candidate(
    state: WorkerState, *, point: Point | None, district: str | None, now: datetime, speed_kmh: float
) -> Candidate:
    worker = state.worker
    start, _end = shift_bounds(worker, now)
    working = start <= now
    origin = state.position if working else (worker.home_lat, worker.home_lon)
    if point is None:
        distance, travel = None, UNKNOWN_TRAVEL_MINUTES
    else:
        distance = haversine_km(origin, point)
        travel = travel_minutes(origin, point, speed_kmh=speed_kmh)
    eta = max(start, now) + timedelta(minutes=state.queue_minutes + travel)
    score = (eta - now).total_seconds() / 60 + LOAD_MINUTES * state.load
    if district and worker.district != district:
        score += OTHER_DISTRICT_MINUTES
    return Candidate(state=state, eta=eta, distance_km=distance, score=score, on_shift=working)


def rank(
    board: dict[str, WorkerState],
    *,
    category: str,
    point: Point | None,
    district: str | None,
    now: datetime,
    speed_kmh: float,
    exclude: frozenset[str] = frozenset(),
) -> list[Candidate]:
    """Skilled workers, best first (lowest score; ties by 工号 so the result is deterministic)."""
    skilled = [
        s for s in board.values() if category in (s.worker.skills or []) and s.worker.id not in exclude
    ]
    candidates = [
        _candidate(s, point=point, district=district, now=now, speed_kmh=speed_kmh) for s in skilled
    ]
    return sorted(candidates, key=lambda c: (c.score, c.state.worker.code))


def choose_for_emergency(candidates: list[Candidate]) -> tuple[Candidate | None, bool]:
    """A free on-shift worker if any; else the nearest on-shift one, whose other visits move later.

    Returns the candidate and whether it preempts his queue. Workers already on an emergency are
    taken last: two emergencies at once are not preempted by a third.
    """
    working = [c for c in candidates if c.on_shift]
    free = [c for c in working if c.state.load == 0]
    if free:
        return free[0], False
    if working:
        far = float("inf")
        nearest = min(
            working,
            key=lambda c: (c.state.emergencies > 0, c.distance_km if c.distance_km is not None else far),
        )
        return nearest, True
    return (candidates[0], False) if candidates else (None, False)
