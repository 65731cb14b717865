"""A repair ticket taken to 已完成 by a named worker, in a conversation of its resident."""

from __future__ import annotations

from datetime import timedelta
from itertools import count

from sqlalchemy.ext.asyncio import AsyncSession

from tests.tools.crm.factories import make_account
from tools.clock import Clock
from tools.conversations.service import open_conversation
from tools.dispatch.models import Worker
from tools.settings import Settings
from tools.tickets.models import Ticket
from tools.tickets.service import create_or_attach, transition

_serial = count(1)


async def make_worker(session: AsyncSession, *, name: str = "王建国") -> Worker:
    serial = next(_serial)
    worker = Worker(
        code=f"T{serial:03d}",
        name=name,
        phone=f"1380000{serial:04d}",
        skills=["no_heat"],
        district="城东区",
        home_lat=41.8,
        home_lon=123.4,
    )
    session.add(worker)
    await session.flush()
    return worker


async def make_completed_ticket(
    session: AsyncSession, *, clock: Clock, settings: Settings, worker_name: str = "王建国", **account: object
) -> Ticket:
    resident = await make_account(session, **account)  # type: ignore[arg-type]
    conversation = await open_conversation(session, channel="web", account_id=resident.id, clock=clock)
    outcome = await create_or_attach(
        session,
        account_id=resident.id,
        category="no_heat",
        urgency="normal",
        description="暖气不热，室温16度",
        clock=clock,
        settings=settings,
        conversation_id=conversation.id,
    )
    ticket = outcome.ticket
    ticket.worker_id = (await make_worker(session, name=worker_name)).id
    for status in ("已派工", "师傅已出发", "已到场", "已完成"):
        await transition(session, ticket, status, clock=clock, message=status)
    clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
    return ticket
