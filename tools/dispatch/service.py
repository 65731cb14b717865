"""Dispatch: choose a worker for a ticket, create the assignment, plan his day, tell the resident.

A worker qualifies by skill (the ticket's category is one of his skills) and is ranked by the
estimated arrival: his shift (now, or the next shift start), the work already queued, and the
travel from his last stop to the building, with small penalties for another district and for load.
Emergencies go first in bulk runs and may preempt: with no skilled worker free, the nearest
on-shift one takes it and his other visits move later, each resident told the new window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession

from tools.clock import Clock
from tools.dispatch.board import WorkerState, choose_for_emergency, load_board, rank, ticket_place
from tools.dispatch.models import ASSIGNMENT_ACTIVE, Assignment, Worker
from tools.dispatch.planning import eta_window, replan_worker, window_text
from tools.dispatch.routing import RoutePlan
from tools.errors import Conflict, InvalidInput, NotFound
from tools.labels import CATEGORY_NAMES_ZH
from tools.settings import Settings
from tools.tickets.models import Ticket
from tools.tickets.service import transition

PREEMPT_REASON = "附近有紧急抢修，师傅需先行处理"


@dataclass
class DispatchOutcome:
    ticket: Ticket
    worker: Worker
    assignment: Assignment
    eta: tuple[datetime, datetime]
    preempted: bool = False
    plan_method: str = "ortools"


@dataclass
class BulkOutcome:
    assigned: list[DispatchOutcome] = field(default_factory=list)
    unassigned: list[str] = field(default_factory=list)  # ticket numbers nobody can take
    plans: dict[str, RoutePlan] = field(default_factory=dict)  # worker code → plan


@dataclass
class _Pick:
    ticket: Ticket
    state: WorkerState
    assignment: Assignment
    preempted: bool


async def _pick(
    session: AsyncSession,
    board: dict[str, WorkerState],
    ticket: Ticket,
    *,
    clock: Clock,
    settings: Settings,
    worker_id: str | None,
    exclude: frozenset[str],
) -> _Pick:
    if ticket.status != "已受理":
        raise Conflict(f"工单当前状态为“{ticket.status}”，不能派工", code="illegal_transition")
    point, district = await ticket_place(session, ticket)
    now = clock.now()
    preempted = False
    if worker_id is not None:
        state = board.get(worker_id)
        if state is None:
            raise NotFound("未找到该师傅或其已停用")
        if ticket.category not in (state.worker.skills or []):
            name = CATEGORY_NAMES_ZH.get(ticket.category, ticket.category)
            raise InvalidInput(f"{state.worker.name}师傅不具备“{name}”维修技能")
    else:
        candidates = rank(
            board,
            category=ticket.category,
            point=point,
            district=district,
            now=now,
            speed_kmh=settings.dispatch_speed_kmh,
            exclude=exclude,
        )
        if ticket.urgency == "emergency":
            best, preempted = choose_for_emergency(candidates)
        else:
            best = candidates[0] if candidates else None
        if best is None:
            raise NotFound("暂时没有可派的维修师傅", code="no_worker")
        state = best.state
    assignment = Assignment(
        ticket_id=ticket.id, worker_id=state.worker.id, status="assigned", assigned_at=now
    )
    session.add(assignment)
    ticket.worker_id = state.worker.id
    state.add(category=ticket.category, urgency=ticket.urgency, point=point, ticket_id=ticket.id)
    return _Pick(ticket, state, assignment, preempted)


async def _announce(
    session: AsyncSession, picks: list[_Pick], *, clock: Clock, settings: Settings, actor: str
) -> BulkOutcome:
    """Plan each touched worker once, then move each ticket to 已派工 with its ETA window."""
    outcome = BulkOutcome()
    await session.flush()
    workers = {pick.state.worker.id: pick for pick in picks}
    for pick in workers.values():
        preempting = any(p.preempted for p in picks if p.state is pick.state)
        outcome.plans[pick.state.worker.code] = await replan_worker(
            session,
            worker=pick.state.worker,
            clock=clock,
            settings=settings,
            reason=PREEMPT_REASON if preempting else "师傅行程调整",
        )
    for pick in picks:
        worker, ticket = pick.state.worker, pick.ticket
        eta = eta_window(pick.assignment.planned_start or clock.now(), ticket.urgency)
        name = CATEGORY_NAMES_ZH.get(ticket.category, ticket.category)
        await transition(
            session,
            ticket,
            "已派工",
            clock=clock,
            message=f"已派{worker.name}师傅（工号{worker.code}）处理您的{name}报修，预计上门时段{window_text(eta)}。",
            actor=actor,
            worker_name=worker.name,
            eta=eta,
        )
        plan = outcome.plans[worker.code]
        outcome.assigned.append(
            DispatchOutcome(ticket, worker, pick.assignment, eta, pick.preempted, plan.method)
        )
    return outcome


async def assign_ticket(
    session: AsyncSession,
    *,
    ticket: Ticket,
    clock: Clock,
    settings: Settings,
    worker_id: str | None = None,
    actor: str = "system",
    exclude: frozenset[str] = frozenset(),
) -> DispatchOutcome:
    """Dispatch one 已受理 ticket (to ``worker_id`` when a supervisor names one). Flushes only."""
    board = await load_board(session)
    pick = await _pick(
        session, board, ticket, clock=clock, settings=settings, worker_id=worker_id, exclude=exclude
    )
    return (await _announce(session, [pick], clock=clock, settings=settings, actor=actor)).assigned[0]


async def reassign(
    session: AsyncSession,
    *,
    ticket: Ticket,
    clock: Clock,
    settings: Settings,
    reason: str,
    actor: str,
    worker_id: str | None = None,
) -> DispatchOutcome:
    """Move a dispatched ticket (before the worker sets off) to another worker and re-plan both."""
    if ticket.status != "已派工":
        raise Conflict(f"工单当前状态为“{ticket.status}”，不能改派", code="illegal_transition")
    current = await session.scalar(
        select(Assignment).where(Assignment.ticket_id == ticket.id, Assignment.status.in_(ASSIGNMENT_ACTIVE))
    )
    previous = await session.get(Worker, ticket.worker_id) if ticket.worker_id else None
    if current is not None:
        current.status = "reassigned"
    await transition(
        session, ticket, "已受理", clock=clock, message="原师傅无法按时上门，正在为您改派。", actor=actor
    )
    exclude = frozenset({previous.id}) if previous is not None and worker_id is None else frozenset()
    outcome = await assign_ticket(
        session,
        ticket=ticket,
        clock=clock,
        settings=settings,
        worker_id=worker_id,
        actor=actor,
        exclude=exclude,
    )
    if previous is not None and previous.id != outcome.worker.id:
        await replan_worker(session, worker=previous, clock=clock, settings=settings)
    return outcome


async def assign_open_tickets(
    session: AsyncSession,
    *,
    clock: Clock,
    settings: Settings,
    limit: int | None = None,
    actor: str = "system",
) -> BulkOutcome:
    """Dispatch every 已受理 ticket: emergencies first, then by SLA due time. Flushes only."""
    priority = case((Ticket.urgency == "emergency", 0), (Ticket.urgency == "high", 1), else_=2)
    stmt = (
        select(Ticket)
        .where(Ticket.status == "已受理")
        .order_by(priority, Ticket.sla_due_at, Ticket.ticket_no)
    )
    tickets = list(await session.scalars(stmt.limit(limit) if limit else stmt))
    board = await load_board(session)
    picks, unassigned = [], []
    for ticket in tickets:
        try:
            picks.append(
                await _pick(
                    session,
                    board,
                    ticket,
                    clock=clock,
                    settings=settings,
                    worker_id=None,
                    exclude=frozenset(),
                )
            )
        except NotFound:
            unassigned.append(ticket.ticket_no)
    outcome = await _announce(session, picks, clock=clock, settings=settings, actor=actor)
    outcome.unassigned = unassigned
    return outcome
