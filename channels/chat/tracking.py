"""The resident's repair tickets as a parcel-style tracking view, and a cheap change signature.

Ticket changes are written by the back office, dispatch and workers' phones in other processes, so
the live stream compares a small signature (status and last event per ticket) instead of relying
on every writer publishing an event.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from channels.chat.schemas import TicketTrack, TrackStep
from tools.clock import COMPANY_TZ
from tools.labels import CATEGORY_NAMES_ZH
from tools.tickets.models import Ticket, TicketEvent

# The happy path a resident sees as the progress bar; 已取消 leaves it.
STAGES = ("已受理", "已派工", "师傅已出发", "已到场", "已完成", "已回访", "已关闭")
MAX_TICKETS = 20

Signature = dict[str, tuple[str, int]]


async def account_tickets(
    session: AsyncSession, *, account_id: str, limit: int = MAX_TICKETS
) -> list[Ticket]:
    rows = await session.scalars(
        select(Ticket).where(Ticket.account_id == account_id).order_by(Ticket.created_at.desc()).limit(limit)
    )
    return list(rows)


async def ticket_by_no(session: AsyncSession, *, account_id: str, ticket_no: str) -> Ticket | None:
    """Only the account's own tickets: another account's number reads as not found."""
    return await session.scalar(
        select(Ticket).where(Ticket.account_id == account_id, Ticket.ticket_no == ticket_no.upper())
    )


def track(ticket: Ticket) -> TicketTrack:
    events: list[TicketEvent] = ticket.resident_events
    worker = next((e.worker_name for e in reversed(events) if e.worker_name), None)
    eta_text = ""
    if ticket.eta_start and ticket.eta_end:
        start, end = ticket.eta_start.astimezone(COMPANY_TZ), ticket.eta_end.astimezone(COMPANY_TZ)
        eta_text = f"预计上门 {start:%m月%d日 %H:%M}-{end:%H:%M}"
    return TicketTrack(
        ticket_no=ticket.ticket_no,
        category=ticket.category,
        category_name=CATEGORY_NAMES_ZH.get(ticket.category, ticket.category),
        urgency=ticket.urgency,
        status=ticket.status,
        stages=list(STAGES),
        stage_index=STAGES.index(ticket.status) if ticket.status in STAGES else -1,
        worker_name=worker,
        eta_start=ticket.eta_start,
        eta_end=ticket.eta_end,
        eta_text=eta_text,
        created_at=ticket.created_at,
        steps=[
            TrackStep(at=e.at, status=e.status, message=e.message, worker_name=e.worker_name) for e in events
        ],
        photos=len(ticket.attachments),
    )


async def signature(session: AsyncSession, *, account_id: str) -> Signature:
    tickets = await account_tickets(session, account_id=account_id)
    return {t.ticket_no: (t.status, max((e.seq for e in t.resident_events), default=0)) for t in tickets}


def changed(before: Signature, after: Signature) -> list[str]:
    return [number for number, mark in after.items() if before.get(number) != mark]
