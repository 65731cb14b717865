"""A worker working his visits from a phone: accept, set off, arrive, finish.

Each step moves the ticket through the lifecycle (so the resident's timeline reads 师傅已出发,
已到场, 已完成) and the assignment with it. A worker reaches only his own assignments: another
worker's id reads as not found, so ids cannot be probed.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tools.clock import Clock
from tools.dispatch.models import ASSIGNMENT_ACTIVE, Assignment, Worker
from tools.dispatch.planning import replan_worker
from tools.errors import Conflict, NotFound
from tools.settings import Settings
from tools.tickets.lifecycle import OPEN_STATES
from tools.tickets.models import Ticket
from tools.tickets.service import add_event, transition


async def own_assignment(session: AsyncSession, *, assignment_id: str, worker_id: str) -> Assignment:
    assignment = await session.get(Assignment, assignment_id)
    if assignment is None or assignment.worker_id != worker_id:
        raise NotFound("未找到该派工单")
    return assignment


async def todays_visits(session: AsyncSession, *, worker_id: str) -> list[tuple[Assignment, Ticket]]:
    """The worker's open visits in route order (today's first, then those rolled to later shifts)."""
    rows = await session.execute(
        select(Assignment, Ticket)
        .join(Ticket, Ticket.id == Assignment.ticket_id)
        .where(
            Assignment.worker_id == worker_id,
            Assignment.status.in_(ASSIGNMENT_ACTIVE),
            Ticket.status.in_(OPEN_STATES),  # a resident's cancellation takes it off the route
        )
        .order_by(Assignment.sequence.is_(None), Assignment.sequence, Assignment.assigned_at)
    )
    return [(assignment, ticket) for assignment, ticket in rows]


async def _parts(session: AsyncSession, assignment: Assignment) -> tuple[Ticket, Worker]:
    ticket = await session.get(Ticket, assignment.ticket_id)
    worker = await session.get(Worker, assignment.worker_id)
    if assignment.status not in ASSIGNMENT_ACTIVE:
        raise Conflict("该派工单已结束或已改派", code="assignment_closed")
    return ticket, worker


async def accept(session: AsyncSession, *, assignment: Assignment, clock: Clock) -> Ticket:
    ticket, worker = await _parts(session, assignment)
    if assignment.status != "assigned":
        raise Conflict("该派工单已接单", code="already_accepted")
    assignment.status, assignment.accepted_at = "accepted", clock.now()
    await add_event(
        session,
        ticket,
        kind="note",
        message=f"{worker.name}师傅已接单。",
        clock=clock,
        actor=f"worker:{worker.code}",
    )
    return ticket


async def depart(session: AsyncSession, *, assignment: Assignment, clock: Clock) -> Ticket:
    ticket, worker = await _parts(session, assignment)
    await transition(
        session,
        ticket,
        "师傅已出发",
        clock=clock,
        message=f"{worker.name}师傅已出发，正在赶往您家。",
        actor=f"worker:{worker.code}",
        worker_name=worker.name,
    )
    assignment.status, assignment.departed_at = "departed", clock.now()
    assignment.accepted_at = assignment.accepted_at or clock.now()
    return ticket


async def arrive(session: AsyncSession, *, assignment: Assignment, clock: Clock) -> Ticket:
    ticket, worker = await _parts(session, assignment)
    await transition(
        session,
        ticket,
        "已到场",
        clock=clock,
        message=f"{worker.name}师傅已到场。",
        actor=f"worker:{worker.code}",
        worker_name=worker.name,
    )
    assignment.status, assignment.arrived_at = "arrived", clock.now()
    return ticket


async def finish(
    session: AsyncSession, *, assignment: Assignment, notes: str, clock: Clock, settings: Settings
) -> Ticket:
    """Close the visit with the worker's notes, then re-plan the rest of his day from here."""
    ticket, worker = await _parts(session, assignment)
    notes = notes.strip()[:2000]
    await transition(
        session,
        ticket,
        "已完成",
        clock=clock,
        message=f"维修已完成：{notes}" if notes else "维修已完成。",
        actor=f"worker:{worker.code}",
        worker_name=worker.name,
    )
    assignment.status, assignment.finished_at, assignment.notes = "done", clock.now(), notes
    await session.flush()
    await replan_worker(session, worker=worker, clock=clock, settings=settings)
    return ticket
