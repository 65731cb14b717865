"""Choosing a worker and dispatching: skill, distance, district, load, shift, emergencies, ETA."""

from datetime import time

import pytest
from sqlalchemy import select

from tests.tools.dispatch.factories import HERE, make_ticket, make_worker
from tools.dispatch.models import Assignment
from tools.dispatch.service import PREEMPT_REASON, assign_open_tickets, assign_ticket, reassign
from tools.errors import Conflict, InvalidInput, NotFound
from tools.tickets.models import TicketEvent

NEAR = (HERE[0] + 0.002, HERE[1])  # ~200 m
FAR = (HERE[0] + 0.05, HERE[1])  # ~5.5 km


async def _dispatch(session, clock, settings, **ticket_args):
    ticket = await make_ticket(session, clock=clock, settings=settings, **ticket_args)
    return await assign_ticket(session, ticket=ticket, clock=clock, settings=settings)


async def test_only_a_worker_with_the_skill_gets_the_ticket(session, clock, settings) -> None:
    await make_worker(session, code="VALVE", skills=("valve",), at=HERE)
    leak = await make_worker(session, code="LEAK", skills=("leak",), at=FAR)
    outcome = await _dispatch(session, clock, settings, category="leak")
    assert outcome.worker.id == leak.id


async def test_the_nearer_of_two_equal_workers_is_chosen(session, clock, settings) -> None:
    await make_worker(session, code="FAR", at=FAR)
    near = await make_worker(session, code="NEAR", at=NEAR)
    assert (await _dispatch(session, clock, settings)).worker.id == near.id


async def test_a_worker_of_the_ticket_district_wins_at_equal_distance(session, clock, settings) -> None:
    await make_worker(session, code="WEST", district="城西区", at=NEAR)
    east = await make_worker(session, code="EAST", district="城东区", at=NEAR)
    assert (await _dispatch(session, clock, settings)).worker.id == east.id


async def test_work_spreads_over_equally_placed_workers(session, clock, settings) -> None:
    first = await make_worker(session, code="A", at=HERE)
    second = await make_worker(session, code="B", at=HERE)
    chosen = [(await _dispatch(session, clock, settings, building=f"{n}号楼")).worker.id for n in range(1, 5)]
    assert chosen.count(first.id) == 2 and chosen.count(second.id) == 2


async def test_an_off_shift_worker_is_skipped_for_an_on_shift_one(session, clock, settings) -> None:
    # 10:00 local: the evening worker starts at 12:00, so a farther day worker gets there first.
    await make_worker(session, code="EVE", at=HERE, shift=(time(12, 0), time(23, 59)))
    day = await make_worker(session, code="DAY", at=FAR)
    assert (await _dispatch(session, clock, settings)).worker.id == day.id


async def test_with_everyone_off_shift_the_eta_is_the_next_shift_start(session, clock, settings) -> None:
    await make_worker(session, code="EVE", at=HERE, shift=(time(12, 0), time(23, 59)))
    outcome = await _dispatch(session, clock, settings)
    assert outcome.assignment.planned_start.hour == 4  # 12:00 Shanghai
    assert outcome.eta[0] >= outcome.assignment.planned_start.replace(minute=0)


async def test_dispatch_puts_worker_and_eta_window_on_the_timeline(session, clock, settings) -> None:
    await make_worker(session, code="W1", name="王建国", at=NEAR)
    outcome = await _dispatch(session, clock, settings)
    ticket = outcome.ticket
    assert ticket.status == "已派工" and ticket.worker_id == outcome.worker.id
    event = await session.scalar(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.seq.desc())
    )
    assert event.status == "已派工" and event.worker_name == "王建国"
    assert (event.eta_start, event.eta_end) == outcome.eta == (ticket.eta_start, ticket.eta_end)
    assert (outcome.eta[1] - outcome.eta[0]).total_seconds() == 2 * 3600
    assert outcome.eta[0].minute in (0, 30) and outcome.eta[0] <= outcome.assignment.planned_start
    assert "王建国师傅" in event.message and "预计上门时段11月22日 10:00-12:00" in event.message


async def test_an_emergency_preempts_the_nearest_busy_worker_and_moves_his_visits(
    session, clock, settings
) -> None:
    worker = await make_worker(session, code="ONLY", at=HERE)
    earlier = [await _dispatch(session, clock, settings, building=f"{n}号楼") for n in (1, 2, 3)]
    before = {o.ticket.id: o.assignment.planned_start for o in earlier}
    urgent = await _dispatch(
        session, clock, settings, category="leak", urgency="emergency", building="9号楼", at=FAR
    )
    assert urgent.worker.id == worker.id and urgent.preempted
    assert urgent.assignment.sequence == 1
    for item in earlier:
        assert item.assignment.sequence > 1 and item.assignment.planned_start > before[item.ticket.id]
        # Every resident's window still holds the planned arrival: moved ones were re-announced.
        assert item.ticket.eta_start <= item.assignment.planned_start < item.ticket.eta_end
    moved = list(await session.scalars(select(TicketEvent).where(TicketEvent.kind == "eta")))
    assert moved and all(PREEMPT_REASON in e.message for e in moved)


async def test_an_emergency_goes_to_a_free_worker_before_preempting(session, clock, settings) -> None:
    busy = await make_worker(session, code="BUSY", at=HERE)
    await _dispatch(session, clock, settings)
    free = await make_worker(session, code="FREE", at=FAR)
    urgent = await _dispatch(session, clock, settings, category="leak", urgency="emergency", building="9号楼")
    assert urgent.worker.id == free.id != busy.id and not urgent.preempted


async def test_no_skilled_worker_leaves_the_ticket_accepted(session, clock, settings) -> None:
    await make_worker(session, skills=("valve",))
    ticket = await make_ticket(session, clock=clock, settings=settings, category="leak")
    with pytest.raises(NotFound):
        await assign_ticket(session, ticket=ticket, clock=clock, settings=settings)
    assert ticket.status == "已受理"


async def test_a_named_worker_without_the_skill_is_refused(session, clock, settings) -> None:
    valve = await make_worker(session, skills=("valve",))
    ticket = await make_ticket(session, clock=clock, settings=settings, category="leak")
    with pytest.raises(InvalidInput):
        await assign_ticket(session, ticket=ticket, clock=clock, settings=settings, worker_id=valve.id)


async def test_a_dispatched_ticket_cannot_be_dispatched_again(session, clock, settings) -> None:
    await make_worker(session)
    outcome = await _dispatch(session, clock, settings)
    with pytest.raises(Conflict):
        await assign_ticket(session, ticket=outcome.ticket, clock=clock, settings=settings)


async def test_reassign_moves_the_ticket_to_another_worker(session, clock, settings) -> None:
    await make_worker(session, code="A", at=NEAR)
    other = await make_worker(session, code="B", at=FAR)
    first = await _dispatch(session, clock, settings)
    second = await reassign(
        session, ticket=first.ticket, clock=clock, settings=settings, reason="师傅请假", actor="t"
    )
    assert second.worker.id == other.id and second.ticket.status == "已派工"
    statuses = {a.worker_id: a.status for a in await session.scalars(select(Assignment))}
    assert statuses == {first.worker.id: "reassigned", other.id: "assigned"}


async def test_bulk_dispatch_serves_emergencies_first(session, clock, settings) -> None:
    await make_worker(session, code="ONLY", skills=("no_heat", "leak"))
    normal = await make_ticket(session, clock=clock, settings=settings, building="1号楼")
    urgent = await make_ticket(session, clock=clock, settings=settings, category="leak", urgency="emergency")
    orphan = await make_ticket(session, clock=clock, settings=settings, category="valve", building="2号楼")
    outcome = await assign_open_tickets(session, clock=clock, settings=settings)
    order = {o.ticket.id: o.assignment.sequence for o in outcome.assigned}
    assert order[urgent.id] == 1 and order[normal.id] == 2
    assert outcome.unassigned == [orphan.ticket_no]
    assert normal.status == urgent.status == "已派工" and orphan.status == "已受理"
