"""The route planner on its own: order, time windows, shifts, emergencies and the greedy fallback."""

from datetime import UTC, datetime, timedelta

from tools.dispatch.routing import Shift, Visit, greedy_day, plan_route

START = datetime(2026, 11, 22, 0, 0, tzinfo=UTC)  # 08:00 Shanghai
HOME = (41.800, 123.450)


def _shifts(hours: int = 10):
    day = 0
    while True:
        yield Shift(START + timedelta(days=day), START + timedelta(days=day, hours=hours), HOME)
        day += 1


def _line(n: int) -> list[Visit]:
    """Visits along a street heading north, ~1 km apart, listed in scrambled order."""
    visits = [Visit(f"v{i}", (HOME[0] + 0.009 * (i + 1), HOME[1]), 30) for i in range(5)]
    return [visits[i] for i in (3, 0, 4, 1, 2) if i < n]


def test_visits_along_a_street_are_visited_in_street_order() -> None:
    plan = plan_route(_line(5), _shifts(), speed_kmh=20)
    assert plan.method == "ortools" and plan.status in ("ROUTING_SUCCESS", "ROUTING_OPTIMAL")
    assert [v.key for v in plan.visits] == ["v0", "v1", "v2", "v3", "v4"]
    for earlier, later in zip(plan.visits, plan.visits[1:], strict=False):
        assert later.start >= earlier.end


def test_a_hard_window_is_respected_even_against_the_shortest_route() -> None:
    visits = _line(3)
    not_before = START + timedelta(hours=4)
    visits = [
        Visit(v.key, v.point, v.service_min, earliest=not_before if v.key == "v0" else None) for v in visits
    ]
    plan = plan_route(visits, _shifts(), speed_kmh=20).by_key()
    assert plan["v0"].start >= not_before
    assert plan["v0"].sequence == 3


def test_a_due_time_pulls_a_far_visit_forward() -> None:
    visits = _line(5)
    due = START + timedelta(minutes=40)
    visits = [Visit(v.key, v.point, v.service_min, due=due if v.key == "v4" else None) for v in visits]
    plan = plan_route(visits, _shifts(), speed_kmh=20).by_key()
    assert plan["v4"].sequence == 1 and not plan["v4"].late


def test_an_emergency_goes_first_when_feasible() -> None:
    visits = [*_line(4), Visit("sos", (HOME[0] + 0.05, HOME[1]), 60, emergency=True)]
    plan = plan_route(visits, _shifts(), speed_kmh=20)
    assert plan.visits[0].key == "sos"


def test_what_does_not_fit_the_shift_rolls_to_the_next_one() -> None:
    visits = [Visit(f"v{i}", HOME, 60) for i in range(5)]
    plan = plan_route(visits, _shifts(hours=3), speed_kmh=20)
    days = [(v.start - START).days for v in plan.visits]
    assert days == [0, 0, 0, 1, 1]
    assert all(v.end <= START + timedelta(days=(v.start - START).days, hours=3) for v in plan.visits)


def test_the_greedy_fallback_orders_emergencies_then_due_times() -> None:
    later, sooner = START + timedelta(hours=5), START + timedelta(hours=2)
    visits = [
        Visit("late", HOME, 30, due=later),
        Visit("soon", HOME, 30, due=sooner),
        Visit("sos", HOME, 30, emergency=True),
    ]
    ordered = greedy_day(visits, next(_shifts()), speed_kmh=20)
    assert [v.key for v, _ in ordered] == ["sos", "soon", "late"]
    assert [minute for _, minute in ordered] == [0, 30, 60]
