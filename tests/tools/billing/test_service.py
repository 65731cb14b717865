"""Bill queries: itemised due-now views in the company's local date, arrears order, payment history."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.tools.billing.factories import PREVIOUS, make_account, make_bill
from tools.billing import service
from tools.clock import FixedClock, at_local
from tools.errors import NotFound


async def test_current_bill_is_itemised_as_area_times_tariff(
    session: AsyncSession, clock: FixedClock
) -> None:
    account = await make_account(session)
    await make_bill(session, account=account)
    [view] = await service.get_bills(session, account_id=account.id, clock=clock)
    assert (view.season_code, view.full_fee, view.due_now, view.status_text) == (
        "2026-2027",
        D("2327.00"),
        D("2327.00"),
        "未缴",
    )
    assert view.lines[0].label == "供热费 89.50㎡ × 26.00元/㎡"
    assert str(view.as_of) == "2026-11-22"


async def test_late_fee_starts_on_the_local_day_after_the_deadline_not_the_utc_day(
    session: AsyncSession, clock: FixedClock
) -> None:
    account = await make_account(session)
    await make_bill(session, account=account)
    clock.set(at_local(datetime(2026, 12, 31).date(), 23, 59))
    [view] = await service.get_bills(session, account_id=account.id, clock=clock)
    assert view.late_fee == 0 and view.due_now == D("2327.00")
    # 2027-01-01 00:10 in Shanghai is still 2026-12-31 16:10 in UTC: the local day decides.
    clock.set(datetime(2026, 12, 31, 16, 10, tzinfo=UTC))
    [view] = await service.get_bills(session, account_id=account.id, clock=clock)
    assert (view.late_days, view.late_fee, view.due_now) == (1, D("1.16"), D("2328.16"))


async def test_discount_is_offered_until_local_midnight_of_the_deadline(
    session: AsyncSession, clock: FixedClock
) -> None:
    account = await make_account(session)
    await make_bill(session, account=account)
    clock.set(at_local(datetime(2026, 10, 31).date(), 23, 59))
    [view] = await service.get_bills(session, account_id=account.id, clock=clock)
    assert view.discount_offered and view.due_now == D("2257.19")
    clock.set(at_local(datetime(2026, 11, 1).date(), 0, 0))
    [view] = await service.get_bills(session, account_id=account.id, clock=clock)
    assert not view.discount_offered and view.due_now == D("2327.00")


async def test_suspended_bill_shows_the_30_percent_share(session: AsyncSession, clock: FixedClock) -> None:
    account = await make_account(session)
    await make_bill(session, account=account, suspended=True)
    [view] = await service.get_bills(session, account_id=account.id, clock=clock)
    assert (view.full_fee, view.base, view.due_now) == (D("2327.00"), D("698.10"), D("698.10"))
    assert "报停" in view.lines[1].label and view.lines[1].amount == D("-1628.90")


async def test_partial_bill_shows_paid_so_far_and_the_rest(session: AsyncSession, clock: FixedClock) -> None:
    account = await make_account(session)
    await make_bill(session, account=account, amount_paid=D("1000.00"))
    [view] = await service.get_bills(session, account_id=account.id, clock=clock)
    assert (view.status, view.paid_principal, view.due_now) == ("partial", D("1000.00"), D("1327.00"))
    assert ("已缴热费", D("-1000.00")) in [(line.label, line.amount) for line in view.lines]


async def test_arrears_list_older_seasons_first_with_their_late_fees(
    session: AsyncSession, clock: FixedClock
) -> None:
    account = await make_account(session)
    await make_bill(session, account=account)  # created first on purpose
    await make_bill(session, account=account, season_code=PREVIOUS)
    statement = await service.get_statement(session, account_id=account.id, clock=clock)
    assert [bill.season_code for bill in statement.arrears] == ["2025-2026", "2026-2027"]
    old = statement.arrears[0]
    # 2025-12-31 → 2026-11-22 is 326 days: 2327 × 0.0005 × 326 = 379.301 → 379.30
    assert (old.late_days, old.late_fee, old.due_now) == (326, D("379.30"), D("2706.30"))
    assert statement.current is not None and statement.current.season_code == "2026-2027"
    assert statement.total_due == D("5033.30")
    assert await service.list_arrears(session, account_id=account.id, clock=clock) == statement.arrears


async def test_paid_seasons_are_not_arrears(session: AsyncSession, clock: FixedClock) -> None:
    account = await make_account(session)
    await make_bill(session, account=account, season_code=PREVIOUS, amount_paid=D("2327.00"))
    await make_bill(session, account=account)
    statement = await service.get_statement(session, account_id=account.id, clock=clock)
    assert [bill.season_code for bill in statement.arrears] == ["2026-2027"]
    assert [bill.season_code for bill in statement.bills] == ["2025-2026", "2026-2027"]


async def test_another_accounts_bills_never_appear(session: AsyncSession, clock: FixedClock) -> None:
    mine, theirs = await make_account(session), await make_account(session, area=D("120.00"))
    await make_bill(session, account=mine)
    await make_bill(session, account=theirs)
    await make_bill(session, account=theirs, season_code=PREVIOUS)
    statement = await service.get_statement(session, account_id=mine.id, clock=clock)
    assert [bill.full_fee for bill in statement.bills] == [D("2327.00")]


async def test_statement_of_unknown_account_is_not_found(session: AsyncSession, clock: FixedClock) -> None:
    with pytest.raises(NotFound):
        await service.get_statement(session, account_id="nope", clock=clock)


async def test_payment_history_includes_payments_made_at_the_service_hall(
    session: AsyncSession, clock: FixedClock
) -> None:
    account = await make_account(session)
    paid_at = at_local(datetime(2025, 10, 20).date(), 12)
    await make_bill(
        session,
        account=account,
        season_code=PREVIOUS,
        amount_paid=D("2257.19"),
        discount_amount=D("69.81"),
        paid_at=paid_at,
    )
    [record] = await service.get_payment_history(session, account_id=account.id)
    assert (record.amount, record.seasons, record.paid_at, record.order_no) == (
        D("2257.19"),
        ["2025-2026"],
        paid_at,
        None,
    )
