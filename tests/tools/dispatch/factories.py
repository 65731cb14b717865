"""Plain factories for dispatch tests: workers at chosen places and shifts, tickets at chosen buildings."""

from __future__ import annotations

from datetime import time
from itertools import count

from sqlalchemy.ext.asyncio import AsyncSession

from tests.tools.crm.factories import make_account
from tools.clock import Clock
from tools.dispatch.models import Worker
from tools.settings import Settings
from tools.tickets.models import Ticket
from tools.tickets.service import create_or_attach

HERE = (41.8010, 123.4010)  # the default test building
_serial = count(1)


async def make_worker(
    session: AsyncSession,
    *,
    code: str | None = None,
    name: str = "王师傅",
    skills: tuple[str, ...] = ("no_heat", "leak", "valve"),
    district: str = "城东区",
    at: tuple[float, float] = HERE,
    shift: tuple[time, time] = (time(8, 0), time(18, 0)),
) -> Worker:
    worker = Worker(
        code=code or f"T{next(_serial):03d}",
        name=name,
        phone="15600000001",
        skills=list(skills),
        district=district,
        home_lat=at[0],
        home_lon=at[1],
        shift_start=shift[0],
        shift_end=shift[1],
    )
    session.add(worker)
    await session.flush()
    return worker


async def make_ticket(
    session: AsyncSession,
    *,
    clock: Clock,
    settings: Settings,
    category: str = "no_heat",
    urgency: str = "normal",
    building: str = "3号楼",
    at: tuple[float, float] | None = None,
) -> Ticket:
    account = await make_account(session, building=building)
    if at is not None:
        account.building.lat, account.building.lon = at
    outcome = await create_or_attach(
        session,
        account_id=account.id,
        category=category,
        urgency=urgency,
        description="家里暖气不热",
        clock=clock,
        settings=settings,
    )
    return outcome.ticket
