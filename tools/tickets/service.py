"""Repair tickets: create (or attach a repeated report), move through the lifecycle, read the timeline.

Every change writes a timeline event a resident can read and an outbox notification in the same
transaction. A second report of the same problem by the same account while a ticket is open is
attached to it instead of opening another. Building alerts are raised in ``alerts.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tools.clock import Clock, local_now
from tools.crm.models import Account
from tools.errors import Conflict, InvalidInput, NotFound
from tools.labels import CATEGORY_NAMES_ZH, REPAIR_CATEGORIES, URGENCIES
from tools.outbox import enqueue
from tools.settings import Settings
from tools.tickets.alerts import check_building_alert
from tools.tickets.lifecycle import OPEN_STATES, check_transition, is_reopen
from tools.tickets.models import STAFF_ONLY_KINDS, BuildingIncident, Ticket, TicketEvent

_URGENCY_ORDER = {"low": 0, "normal": 1, "high": 2, "emergency": 3}


@dataclass
class TicketOutcome:
    ticket: Ticket
    duplicate: bool = False
    incident: BuildingIncident | None = None


def sla_text(urgency: str, settings: Settings) -> str:
    minutes = settings.sla_minutes.get(urgency, 1440)
    if urgency == "emergency":
        return f"抢修师傅将在{minutes // 60 or 1}小时内到场"
    return f"师傅将在{minutes // 60}小时内上门，派工后会告诉您预计上门时段"


def effective_urgency(category: str, urgency: str, *, vulnerable: bool) -> str:
    """Vulnerable residents (独居老人, 婴幼儿, 行动不便, 孕妇) without heat are at least high."""
    if category == "no_heat" and vulnerable and _URGENCY_ORDER[urgency] < _URGENCY_ORDER["high"]:
        return "high"
    return urgency


async def _next_ticket_no(session: AsyncSession, clock: Clock) -> str:
    prefix = f"BX{local_now(clock):%Y%m%d}"
    count = await session.scalar(
        select(func.count()).select_from(Ticket).where(Ticket.ticket_no.like(f"{prefix}%"))
    )
    return f"{prefix}{int(count or 0) + 1:04d}"


async def add_event(
    session: AsyncSession,
    ticket: Ticket,
    *,
    kind: str,
    message: str,
    clock: Clock,
    actor: str = "system",
    worker_name: str | None = None,
    eta: tuple[datetime, datetime] | None = None,
) -> TicketEvent:
    seq = (
        int(
            await session.scalar(
                select(func.coalesce(func.max(TicketEvent.seq), 0)).where(TicketEvent.ticket_id == ticket.id)
            )
            or 0
        )
        + 1
    )
    event = TicketEvent(
        ticket_id=ticket.id,
        seq=seq,
        at=clock.now(),
        kind=kind,
        status=ticket.status,
        message=message,
        worker_name=worker_name,
        eta_start=eta[0] if eta else None,
        eta_end=eta[1] if eta else None,
        actor=actor,
    )
    session.add(event)
    await session.flush()
    if kind in STAFF_ONLY_KINDS:
        return event
    await enqueue(
        session,
        clock=clock,
        kind="ticket_progress",
        text=f"【报修进度】工单{ticket.ticket_no}：{message}",
        account_id=ticket.account_id,
        conversation_id=ticket.conversation_id,
        payload={"ticket_no": ticket.ticket_no, "status": ticket.status},
        dedupe_key=f"ticket:{ticket.id}:{seq}",
    )
    return event


async def create_or_attach(
    session: AsyncSession,
    *,
    account_id: str,
    category: str,
    urgency: str,
    description: str,
    clock: Clock,
    settings: Settings,
    conversation_id: str | None = None,
    idempotency_key: str | None = None,
) -> TicketOutcome:
    if category not in REPAIR_CATEGORIES:
        raise InvalidInput(f"该问题类型不能报修：{category}")
    if urgency not in URGENCIES:
        raise InvalidInput(f"未知紧急程度：{urgency}")
    description = description.strip()[:1000]
    if not description:
        raise InvalidInput("请描述一下问题")
    if idempotency_key:
        existing = await session.scalar(select(Ticket).where(Ticket.idempotency_key == idempotency_key))
        if existing is not None:
            return TicketOutcome(existing, duplicate=existing.duplicate_reports > 0)
    account = await session.get(Account, account_id)
    if account is None:
        raise NotFound("未找到户号")
    urgency = effective_urgency(category, urgency, vulnerable=account.resident.is_vulnerable)
    open_ticket = await session.scalar(
        select(Ticket).where(
            Ticket.account_id == account_id, Ticket.category == category, Ticket.status.in_(OPEN_STATES)
        )
    )
    if open_ticket is not None:
        open_ticket.duplicate_reports += 1
        if _URGENCY_ORDER[urgency] > _URGENCY_ORDER[open_ticket.urgency]:
            open_ticket.urgency = urgency
            open_ticket.sla_due_at = min(
                open_ticket.sla_due_at, clock.now() + timedelta(minutes=settings.sla_minutes[urgency])
            )
        await add_event(
            session, open_ticket, kind="report", message=f"住户再次反映：{description[:100]}", clock=clock
        )
        return TicketOutcome(open_ticket, duplicate=True)
    for _ in range(5):
        ticket = Ticket(
            ticket_no=await _next_ticket_no(session, clock),
            account_id=account_id,
            conversation_id=conversation_id,
            category=category,
            urgency=urgency,
            description=description,
            address=account.address,
            contact_phone=account.resident.phone,
            sla_due_at=clock.now() + timedelta(minutes=settings.sla_minutes[urgency]),
            idempotency_key=idempotency_key,
            created_at=clock.now(),  # the injected clock, so SLA and alert windows agree with it
        )
        try:
            async with session.begin_nested():
                session.add(ticket)
        except IntegrityError:
            continue  # a concurrent report took this number
        break
    else:
        raise Conflict("工单创建繁忙，请重试")
    name = CATEGORY_NAMES_ZH.get(category, category)
    await add_event(
        session,
        ticket,
        kind="status",
        message=f"您的{name}报修已受理，{sla_text(urgency, settings)}。",
        clock=clock,
    )
    incident = await check_building_alert(session, ticket=ticket, clock=clock, settings=settings)
    return TicketOutcome(ticket, incident=incident)


async def transition(
    session: AsyncSession,
    ticket: Ticket,
    target: str,
    *,
    clock: Clock,
    message: str,
    actor: str = "system",
    worker_name: str | None = None,
    eta: tuple[datetime, datetime] | None = None,
) -> Ticket:
    check_transition(ticket.status, target)
    if is_reopen(ticket.status, target):
        ticket.reopen_count += 1
        ticket.closed_at = None
    ticket.status = target
    if target == "已到场":
        ticket.arrived_at = clock.now()
    if target in ("已关闭", "已取消"):
        ticket.closed_at = clock.now()
    if eta:
        ticket.eta_start, ticket.eta_end = eta
    await add_event(
        session,
        ticket,
        kind="status",
        message=message,
        clock=clock,
        actor=actor,
        worker_name=worker_name,
        eta=eta,
    )
    return ticket


async def resident_ticket(session: AsyncSession, *, account_id: str, ticket_no: str | None) -> Ticket:
    """The account's ticket by number, or its latest; another account's number reads as not found."""
    stmt = select(Ticket).where(Ticket.account_id == account_id)
    if ticket_no:
        stmt = stmt.where(Ticket.ticket_no == ticket_no.upper())
    ticket = await session.scalar(stmt.order_by(Ticket.created_at.desc()).limit(1))
    if ticket is None:
        raise NotFound("未找到您名下的该工单" if ticket_no else "您还没有报修记录")
    return ticket
