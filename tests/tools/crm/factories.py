"""Plain factories for CRM rows (community → building → resident → account)."""

from __future__ import annotations

from decimal import Decimal
from itertools import count

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tools.crm.models import Account, Building, Community, Resident

_serial = count(1)


async def make_building(
    session: AsyncSession, *, community: str = "锦绣花园", number: str = "3号楼"
) -> Building:
    found = await session.scalar(select(Community).where(Community.name == community))
    if found is None:
        found = Community(name=community, district="城东区", lat=41.8, lon=123.4)
        session.add(found)
        await session.flush()
    building = await session.scalar(
        select(Building).where(Building.community_id == found.id, Building.number == number)
    )
    if building is None:
        building = Building(community_id=found.id, number=number, lat=41.801, lon=123.401)
        session.add(building)
        await session.flush()
    return building


async def make_account(
    session: AsyncSession,
    *,
    account_no: str | None = None,
    name: str = "张秀英",
    phone: str = "13912340001",
    tags: list[str] | None = None,
    community: str = "锦绣花园",
    building: str = "3号楼",
    room: str | None = None,
) -> Account:
    serial = next(_serial)
    place = await make_building(session, community=community, number=building)
    resident = Resident(name=name, phone=phone, tags=tags or [])
    account = Account(
        account_no=account_no or f"20269{serial:05d}",
        resident=resident,
        building_id=place.id,
        unit="2",
        room=room or f"{500 + serial}",
        heated_area=Decimal("89.50"),
        kind="residential",
    )
    session.add(account)
    await session.flush()
    await session.refresh(account, ["building"])
    return account
