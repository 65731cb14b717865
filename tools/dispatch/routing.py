"""Order one worker's visits with OR-Tools routing: time windows, SLA due times, shifts.

Pure planning: no database. A day is one shift from its origin (the worker's home, or where he
is now); the time dimension counts minutes from the shift start, each arc costs travel and the
visit's service time, and the route must finish by the shift end. SLA due times are soft upper
bounds (lateness costs, emergencies much more, and an emergency wants to be first), hard windows
(``earliest``/``latest``) are cumul ranges, and every visit may be dropped at a high penalty: what
does not fit today rolls to the next shift. If the solver finds nothing within its time limit the
day is planned greedily by due time, and the plan says which method was used.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from tools.dispatch.geo import Point, travel_minutes

MAX_DAYS = 14
_DROP_PENALTY = 10_000_000
_EMERGENCY_DROP_PENALTY = 1_000_000_000
_LATE_COST = 10  # per minute past the SLA due time
_EMERGENCY_LATE_COST = 1_000
_EMERGENCY_FIRST_COST = 100  # per minute an emergency waits from the shift start
_PROMISE_COST = 20  # per minute past the window already promised to the resident
_STATUS_NAMES = dict((v, k) for k, v in routing_enums_pb2.RoutingSearchStatus.Value.items())


@dataclass(frozen=True)
class Visit:
    key: str
    point: Point
    service_min: int
    due: datetime | None = None  # soft: the SLA's arrive-by
    earliest: datetime | None = None  # hard: not before (resident at home from ...)
    latest: datetime | None = None  # hard: arrive by
    emergency: bool = False
    promised_by: datetime | None = None  # soft: end of the window the resident was already told


@dataclass(frozen=True)
class Shift:
    start: datetime
    end: datetime
    origin: Point


@dataclass(frozen=True)
class PlannedVisit:
    key: str
    sequence: int
    start: datetime
    end: datetime
    late: bool


@dataclass
class RoutePlan:
    visits: list[PlannedVisit] = field(default_factory=list)
    method: str = "ortools"  # "ortools" when every day was solved, else "greedy"
    status: str = "ROUTING_NOT_SOLVED"
    solve_ms: float = 0.0

    def by_key(self) -> dict[str, PlannedVisit]:
        return {visit.key: visit for visit in self.visits}


def _minutes(moment: datetime, origin: datetime) -> int:
    return int((moment - origin).total_seconds() // 60)


def _matrix(points: list[Point], speed_kmh: float) -> list[list[int]]:
    return [[travel_minutes(a, b, speed_kmh=speed_kmh) for b in points] for a in points]


def _window(visit: Visit, shift: Shift, horizon: int) -> tuple[int, int] | None:
    low = max(0, _minutes(visit.earliest, shift.start)) if visit.earliest else 0
    high = min(horizon - visit.service_min, _minutes(visit.latest, shift.start) if visit.latest else horizon)
    return (low, high) if low <= high else None


def _soft_bound(visit: Visit, shift: Shift) -> tuple[int, int] | None:
    """(minute, cost per minute past it): OR-Tools keeps one soft upper bound per visit.

    An emergency wants to be as early as possible; any other visit wants to be on site by its SLA
    due time and within the window its resident was already told, whichever comes first.
    """
    if visit.emergency:
        return 0, _EMERGENCY_FIRST_COST
    bounds = [(visit.due, _LATE_COST), (visit.promised_by, _PROMISE_COST)]
    present = [(moment, cost) for moment, cost in bounds if moment is not None]
    if not present:
        return None
    moment = min(m for m, _ in present)
    return max(0, _minutes(moment, shift.start)), max(c for _, c in present)


def _drop_penalty(visit: Visit, shift: Shift) -> int:
    """Leaving a visit for tomorrow costs what it would then be late, so urgent ones stay today."""
    base = _EMERGENCY_DROP_PENALTY if visit.emergency else _DROP_PENALTY
    if visit.due is None:
        return base
    tomorrow = shift.end + timedelta(hours=14)
    late = max(0, _minutes(tomorrow, visit.due))
    return base + late * (_EMERGENCY_LATE_COST if visit.emergency else _LATE_COST)


def solve_day(
    visits: list[Visit], shift: Shift, *, speed_kmh: float, time_limit_s: float
) -> tuple[list[tuple[Visit, int]], str] | None:
    """(visit, arrival minute) in route order, and the solver status; None when it found nothing."""
    horizon = _minutes(shift.end, shift.start)
    candidates = [(v, w) for v in visits if (w := _window(v, shift, horizon)) is not None]
    if not candidates or horizon <= 0:
        return [], "ROUTING_SUCCESS"
    n = len(candidates)
    points = [shift.origin, *(v.point for v, _ in candidates)]
    travel = _matrix(points, speed_kmh)
    service = [0, *(v.service_min for v, _ in candidates)]
    end_node = n + 1
    manager = pywrapcp.RoutingIndexManager(n + 2, 1, [0], [end_node])
    routing = pywrapcp.RoutingModel(manager)

    # Node matrices registered in C++: no Python callback per arc, so solving stays fast.
    size = n + 2
    arc_travel = [[0 if end_node in (a, b) else travel[a][b] for b in range(size)] for a in range(size)]
    arc_time = [
        [(0 if a == end_node else service[a]) + arc_travel[a][b] for b in range(size)] for a in range(size)
    ]
    routing.SetArcCostEvaluatorOfAllVehicles(routing.RegisterTransitMatrix(arc_travel))
    routing.AddDimension(routing.RegisterTransitMatrix(arc_time), horizon, horizon, True, "time")
    clock_dim = routing.GetDimensionOrDie("time")
    clock_dim.SetSpanCostCoefficientForAllVehicles(1)  # finishing earlier beats idling for free
    for node, (visit, (low, high)) in enumerate(candidates, start=1):
        index = manager.NodeToIndex(node)
        clock_dim.CumulVar(index).SetRange(low, high)
        soft = _soft_bound(visit, shift)
        if soft is not None:
            clock_dim.SetCumulVarSoftUpperBound(index, *soft)
        routing.AddDisjunction([index], _drop_penalty(visit, shift))
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GREEDY_DESCENT
    params.time_limit.FromMilliseconds(max(10, int(time_limit_s * 1000)))
    solution = routing.SolveWithParameters(params)
    status = _STATUS_NAMES.get(routing.status(), str(routing.status()))
    if solution is None:
        return None
    ordered = []
    index = solution.Value(routing.NextVar(routing.Start(0)))
    while not routing.IsEnd(index):
        visit = candidates[manager.IndexToNode(index) - 1][0]
        ordered.append((visit, solution.Min(clock_dim.CumulVar(index))))
        index = solution.Value(routing.NextVar(index))
    return ordered, status


def greedy_day(visits: list[Visit], shift: Shift, *, speed_kmh: float) -> list[tuple[Visit, int]]:
    """Emergencies first, then by due time: the fallback when the solver gives nothing."""
    horizon = _minutes(shift.end, shift.start)
    far = shift.start + timedelta(days=365)
    ordered: list[tuple[Visit, int]] = []
    now, here = 0, shift.origin
    for visit in sorted(visits, key=lambda v: (not v.emergency, v.due or far, v.earliest or shift.start)):
        window = _window(visit, shift, horizon)
        if window is None:
            continue
        arrive = max(now + travel_minutes(here, visit.point, speed_kmh=speed_kmh), window[0])
        if arrive > window[1]:
            continue
        ordered.append((visit, arrive))
        now, here = arrive + visit.service_min, visit.point
    return ordered


def plan_route(
    visits: list[Visit], shifts: Iterator[Shift], *, speed_kmh: float, time_limit_s: float = 1.0
) -> RoutePlan:
    """Fill successive shifts until every visit has a slot (or ``MAX_DAYS`` pass)."""
    plan = RoutePlan()
    started = time.perf_counter()
    remaining = list(visits)
    sequence = 0
    statuses: list[str] = []
    last: tuple[datetime, Point] | None = None
    shift: Shift | None = None
    for _day, shift in zip(range(MAX_DAYS), shifts, strict=False):
        if not remaining:
            break
        solved = solve_day(remaining, shift, speed_kmh=speed_kmh, time_limit_s=time_limit_s)
        if solved is None:
            plan.method = "greedy"
            statuses.append("ROUTING_FAIL")
            ordered = greedy_day(remaining, shift, speed_kmh=speed_kmh)
        else:
            ordered, status = solved
            statuses.append(status)
        placed = set()
        for visit, minute in ordered:
            sequence += 1
            start = shift.start + timedelta(minutes=minute)
            end = start + timedelta(minutes=visit.service_min)
            late = visit.due is not None and start > visit.due
            plan.visits.append(PlannedVisit(visit.key, sequence, start, end, late))
            placed.add(visit.key)
            last = (end, visit.point)
        remaining = [v for v in remaining if v.key not in placed]
    plan.status = statuses[0] if statuses else "ROUTING_SUCCESS"  # today's solve is the one that matters
    if remaining and shift is not None:  # nothing fits within MAX_DAYS: queue them after the last, late
        end, here = last or (shift.start, shift.origin)
        for visit in remaining:
            sequence += 1
            start = end + timedelta(minutes=travel_minutes(here, visit.point, speed_kmh=speed_kmh))
            end = start + timedelta(minutes=visit.service_min)
            plan.visits.append(PlannedVisit(visit.key, sequence, start, end, True))
            here = visit.point
    plan.solve_ms = (time.perf_counter() - started) * 1000
    return plan
