from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.exc import StatementError

from tools.audit import AuditLog, record_audit
from tools.clock import FixedClock
from tools.company.models import Company, HeatingSeason, Tariff
from tools.db import round_money


def test_round_money_is_half_up_to_the_fen() -> None:
    assert round_money(Decimal("2.345")) == Decimal("2.35")
    assert round_money(Decimal("2.344")) == Decimal("2.34")
    assert round_money(Decimal("-2.345")) == Decimal("-2.35")


async def _season(session) -> HeatingSeason:
    company = Company(code="c", name="公司", short_name="公司", city="滨河市", hotline="96899")
    season = HeatingSeason(
        company=company,
        code="2026-2027",
        starts_on=datetime(2026, 11, 15).date(),
        ends_on=datetime(2027, 3, 15).date(),
        pay_deadline=datetime(2026, 12, 31).date(),
        discount_rate=Decimal("0.03"),
        late_fee_daily_rate=Decimal("0.0005"),
    )
    session.add(season)
    await session.flush()
    return season


async def test_money_and_rates_round_trip_exactly(session) -> None:
    season = await _season(session)
    session.add(Tariff(season=season, account_kind="residential", unit_price=Decimal("26.05")))
    await session.commit()
    session.expunge_all()
    loaded = await session.scalar(select(HeatingSeason))
    assert loaded.late_fee_daily_rate == Decimal("0.000500")
    assert loaded.discount_rate == Decimal("0.030000")
    assert loaded.tariffs[0].unit_price == Decimal("26.05")


async def test_money_with_sub_fen_precision_is_refused(session) -> None:
    season = await _season(session)
    session.add(Tariff(season=season, account_kind="residential", unit_price=Decimal("26.005")))
    with pytest.raises(StatementError, match="more than 2 decimal places"):
        await session.flush()


async def test_instants_come_back_aware_utc(session) -> None:
    shanghai = timezone(timedelta(hours=8))
    moment = datetime(2026, 11, 22, 10, 0, tzinfo=shanghai)
    await record_audit(session, clock=FixedClock(moment), actor="t", action="a", target_type="x")
    await session.commit()
    session.expunge_all()
    entry = await session.scalar(select(AuditLog))
    assert entry.at == moment and entry.at.tzinfo == UTC


async def test_naive_datetimes_are_refused(session) -> None:
    session.add(AuditLog(at=datetime(2026, 1, 1), actor="t", action="a", target_type="x"))
    with pytest.raises(StatementError, match="naive datetime"):
        await session.flush()
