"""Plain factories for billing tests: the demo company's seasons, accounts and bills.

Seasons come from ``tests.factories.make_company_with_season`` (2025-2026 and 2026-2027, tariffs
26.00 / 38.00 元/㎡, discount 3% until 10-31, pay deadline 12-31, late fee 0.0005/day, 报停 30%).
Bill amounts are computed by the rules, as the importer does, never typed in.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from itertools import count
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import make_company_with_season
from tools.billing import rules
from tools.billing.models import Bill
from tools.company.models import Company, HeatingSeason, Tariff
from tools.crm.models import Account, Building, Community, Resident

CURRENT = "2026-2027"
PREVIOUS = "2025-2026"
_serial = count(1)


async def make_company(session: AsyncSession) -> Company:
    return await make_company_with_season(session)


async def get_season(session: AsyncSession, code: str = CURRENT) -> HeatingSeason:
    season = await session.scalar(select(HeatingSeason).where(HeatingSeason.code == code))
    if season is None:
        await make_company(session)
        season = await session.scalar(select(HeatingSeason).where(HeatingSeason.code == code))
    assert season is not None
    return season


async def make_season(
    session: AsyncSession,
    *,
    code: str,
    starts_on: date,
    pay_deadline: date,
    discount_deadline: date | None = None,
    price: Decimal = Decimal("26.00"),
    **terms: Any,
) -> HeatingSeason:
    """An extra season with its own terms (a late-fee cap, another rate)."""
    company = await make_company(session)
    season = HeatingSeason(
        company_id=company.id,
        code=code,
        starts_on=starts_on,
        ends_on=date(starts_on.year + 1, 3, 15),
        discount_deadline=discount_deadline,
        discount_rate=terms.pop("discount_rate", Decimal("0.03")),
        pay_deadline=pay_deadline,
        late_fee_daily_rate=terms.pop("late_fee_daily_rate", Decimal("0.0005")),
        late_fee_cap_ratio=terms.pop("late_fee_cap_ratio", Decimal("1")),
        suspend_fee_ratio=terms.pop("suspend_fee_ratio", Decimal("0.30")),
        **terms,
    )
    session.add(season)
    await session.flush()
    session.add(Tariff(season_id=season.id, account_kind="residential", unit_price=price))
    await session.flush()
    await session.refresh(season, ["tariffs"])
    return season


async def make_account(
    session: AsyncSession,
    *,
    area: Decimal = Decimal("89.50"),
    kind: str = "residential",
    account_no: str | None = None,
    name: str = "李建国",
) -> Account:
    serial = next(_serial)
    community = await session.scalar(select(Community).where(Community.name == "暖线测试小区"))
    if community is None:
        community = Community(name="暖线测试小区", district="城东区")
        session.add(community)
        await session.flush()
    building = await session.scalar(select(Building).where(Building.community_id == community.id))
    if building is None:
        building = Building(community_id=community.id, number="1号楼")
        session.add(building)
        await session.flush()
    account = Account(
        account_no=account_no or f"20268{serial:05d}",
        resident=Resident(name=name, phone=f"1391234{serial:04d}"),
        building_id=building.id,
        unit="1",
        room=f"{100 + serial}",
        heated_area=area,
        kind=kind,
    )
    session.add(account)
    await session.flush()
    return account


async def make_bill(
    session: AsyncSession,
    *,
    account: Account,
    season_code: str = CURRENT,
    suspended: bool = False,
    amount_paid: Decimal = Decimal("0.00"),
    late_fee_paid: Decimal = Decimal("0.00"),
    discount_amount: Decimal = Decimal("0.00"),
    status: str | None = None,
    paid_at: datetime | None = None,
) -> Bill:
    season = await get_season(session, season_code)
    terms = rules.SeasonTerms.of(season)
    price = season.tariff_for(account.kind).unit_price
    base = rules.base_fee(account.heated_area, price, suspended=suspended, terms=terms)
    if status is None:
        owed = base - discount_amount
        status = "paid" if amount_paid >= owed else "partial" if amount_paid > 0 else "unpaid"
    bill = Bill(
        account_id=account.id,
        season_id=season.id,
        heated_area=account.heated_area,
        unit_price=price,
        suspended=suspended,
        base_amount=base,
        discount_amount=discount_amount,
        amount_paid=amount_paid,
        late_fee_paid=late_fee_paid,
        status=status,
        paid_at=paid_at,
    )
    session.add(bill)
    await session.flush()
    return bill
