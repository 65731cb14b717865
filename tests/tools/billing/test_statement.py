"""Money rules to the edge: rounding, deadlines, late fees, 报停, partial payments (pure, no database)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tools.billing import rules
from tools.billing.rules import SeasonTerms
from tools.billing.statement import BillState, due_now, settle

TERMS = SeasonTerms(
    code="2026-2027",
    discount_deadline=date(2026, 10, 31),
    discount_rate=D("0.03"),
    pay_deadline=date(2026, 12, 31),
    late_fee_daily_rate=D("0.0005"),
    late_fee_cap_ratio=D("1"),
    suspend_fee_ratio=D("0.30"),
)


def bill(area: str = "89.50", price: str = "26.00", *, suspended: bool = False, **paid: D) -> BillState:
    base = rules.base_fee(D(area), D(price), suspended=suspended, terms=TERMS)
    return BillState(heated_area=D(area), unit_price=D(price), suspended=suspended, base_amount=base, **paid)


def test_base_fee_rounds_half_a_fen_up() -> None:
    # 100.25 ㎡ × 26.02 元 = 2608.505 元 → 2608.51 (四舍五入), not banker's 2608.50.
    assert rules.base_fee(D("100.25"), D("26.02"), suspended=False, terms=TERMS) == D("2608.51")
    assert rules.base_fee(D("0.05"), D("0.10"), suspended=False, terms=TERMS) == D("0.01")


def test_discount_rounds_half_a_fen_up_where_bankers_rounding_would_go_down() -> None:
    # 3% of 2001.50 = 60.045 → 60.05 (half-even would give 60.04).
    discount = rules.early_discount(D("2001.50"), paid_on=date(2026, 10, 1), terms=TERMS)
    assert discount == D("60.05")


def test_suspended_bill_pays_30_percent_of_the_full_fee_rounded_half_up() -> None:
    assert rules.base_fee(D("89.50"), D("26.00"), suspended=True, terms=TERMS) == D("698.10")
    # full 200.03 × 5.00 = 1000.15 → 30% = 300.045 → 300.05 (half-even would give 300.04)
    assert rules.base_fee(D("200.03"), D("5.00"), suspended=True, terms=TERMS) == D("300.05")
    view = due_now(bill(suspended=True), on=date(2026, 11, 22), terms=TERMS)
    assert (view.full_fee, view.base, view.total_due) == (D("2327.00"), D("698.10"), D("698.10"))
    assert [line.amount for line in view.lines] == [D("2327.00"), D("-1628.90")]


def test_suspended_bill_gets_no_early_discount() -> None:
    view = due_now(bill(suspended=True), on=date(2026, 10, 1), terms=TERMS)
    assert view.discount == 0 and not view.discount_offered and view.total_due == D("698.10")


def test_discount_is_offered_on_the_deadline_day_but_not_the_day_after() -> None:
    on_deadline = due_now(bill(), on=date(2026, 10, 31), terms=TERMS)
    day_after = due_now(bill(), on=date(2026, 11, 1), terms=TERMS)
    assert on_deadline.discount_offered and on_deadline.discount == D("69.81")
    assert on_deadline.total_due == D("2257.19")
    assert not day_after.discount_offered and day_after.total_due == D("2327.00")


def test_late_fee_is_zero_on_the_pay_deadline_and_one_day_of_fee_the_day_after() -> None:
    on_deadline = due_now(bill(), on=date(2026, 12, 31), terms=TERMS)
    day_after = due_now(bill(), on=date(2027, 1, 1), terms=TERMS)
    assert on_deadline.late_fee == 0 and on_deadline.late_days == 0
    # 2327.00 × 0.0005 × 1 = 1.1635 → 1.16
    assert (day_after.late_fee, day_after.late_days, day_after.total_due) == (D("1.16"), 1, D("2328.16"))
    assert "1天" in day_after.lines[-1].label


def test_late_fee_grows_per_day_and_rounds_once_on_the_total() -> None:
    # 60 days: 2327 × 0.0005 × 60 = 69.81; rounding per day would give 60 × 1.16 = 69.60.
    assert due_now(bill(), on=date(2027, 3, 1), terms=TERMS).late_fee == D("69.81")


def test_late_fee_stops_at_the_cap() -> None:
    capped = replace(TERMS, late_fee_cap_ratio=D("0.05"))
    # 200 days would be 232.70; the cap is 5% of 2327.00 = 116.35 (reached on day 100).
    assert due_now(bill(), on=date(2026, 12, 31) + timedelta(days=100), terms=capped).late_fee == D("116.35")
    view = due_now(bill(), on=date(2026, 12, 31) + timedelta(days=200), terms=capped)
    assert view.late_fee == D("116.35") and view.total_due == D("2443.35")
    assert "上限" in view.lines[-1].label
    assert "上限" not in due_now(bill(), on=date(2027, 1, 30), terms=capped).lines[-1].label


def test_late_fee_accrues_only_on_unpaid_principal() -> None:
    partly = bill(amount_paid=D("2000.00"), status="partial")
    view = due_now(partly, on=date(2027, 1, 10), terms=TERMS)
    # 327.00 × 0.0005 × 10 = 1.635 → 1.64
    assert (view.principal_due, view.late_fee, view.total_due) == (D("327.00"), D("1.64"), D("328.64"))


def test_paid_bill_owes_nothing_long_after_the_deadline() -> None:
    paid = bill(amount_paid=D("2327.00"), status="paid")
    assert due_now(paid, on=date(2028, 6, 1), terms=TERMS).total_due == 0
    waived = bill(status="waived")
    assert due_now(waived, on=date(2028, 6, 1), terms=TERMS).total_due == 0


def test_partial_payment_before_the_deadline_keeps_the_discount_open_for_the_rest() -> None:
    first = settle(bill(), D("1000.00"), on=date(2026, 10, 20), terms=TERMS)
    assert (first.principal, first.late_fee, first.discount, first.state.status) == (
        D("1000.00"),
        D("0.00"),
        D("0.00"),
        "partial",
    )
    rest = due_now(first.state, on=date(2026, 10, 31), terms=TERMS)
    assert rest.total_due == D("1257.19")  # 2327.00 − 69.81 − 1000.00
    second = settle(first.state, rest.total_due, on=date(2026, 10, 31), terms=TERMS)
    assert second.state.status == "paid" and second.discount == D("69.81") and second.leftover == 0
    assert second.state.amount_paid + second.state.discount_amount == D("2327.00")
    late = due_now(first.state, on=date(2026, 11, 1), terms=TERMS)
    assert late.total_due == D("1327.00") and not late.discount_offered


def test_partial_payment_after_the_deadline_pays_principal_with_its_own_late_fee() -> None:
    on = date(2027, 3, 1)  # 60 days late
    before = due_now(bill(), on=on, terms=TERMS)
    part = settle(bill(), D("1000.00"), on=on, terms=TERMS)
    assert part.principal + part.late_fee == D("1000.00")
    assert (part.principal, part.late_fee) == (D("970.87"), D("29.13"))
    after = due_now(part.state, on=on, terms=TERMS)
    assert after.total_due == before.total_due - D("1000.00")
    assert after.principal_due == D("1356.13")


def test_settling_more_than_due_returns_the_leftover() -> None:
    result = settle(bill(), D("3000.00"), on=date(2026, 11, 22), terms=TERMS)
    assert (result.taken, result.leftover, result.state.status) == (D("2327.00"), D("673.00"), "paid")
    nothing = settle(result.state, D("10.00"), on=date(2026, 11, 23), terms=TERMS)
    assert nothing.taken == 0 and nothing.leftover == D("10.00")


open_bills = st.builds(
    lambda area, price, paid_share, suspended: (area, price, paid_share, suspended),
    st.decimals(min_value=D("1.00"), max_value=D("400.00"), places=2),
    st.decimals(min_value=D("0.01"), max_value=D("60.00"), places=2),
    st.integers(min_value=0, max_value=99),
    st.booleans(),
)
days = st.dates(min_value=date(2026, 9, 1), max_value=date(2029, 12, 31))


def _open_bill(area: D, price: D, paid_share: int, suspended: bool) -> BillState:
    base = rules.base_fee(area, price, suspended=suspended, terms=TERMS)
    paid = rules.round_money(base * paid_share / 100) if base else D("0.00")
    return BillState(
        heated_area=area,
        unit_price=price,
        suspended=suspended,
        base_amount=base,
        amount_paid=paid,
        status="partial" if paid else "unpaid",
    )


@settings(max_examples=300, deadline=None)
@given(open_bills, days)
def test_itemised_lines_add_up_to_what_is_due_now(spec: tuple, on: date) -> None:
    view = due_now(_open_bill(*spec), on=on, terms=TERMS)
    assert sum(line.amount for line in view.lines) == view.total_due
    assert view.total_due == view.principal_due + view.late_fee
    assert view.late_fee <= view.principal_due * TERMS.late_fee_cap_ratio


@settings(max_examples=300, deadline=None)
@given(open_bills, days, st.integers(min_value=1, max_value=99))
def test_a_partial_payment_never_changes_what_the_rest_costs_by_more_than_a_fen(
    spec: tuple, on: date, share: int
) -> None:
    state = _open_bill(*spec)
    before = due_now(state, on=on, terms=TERMS)
    amount = rules.round_money(before.total_due * share / 100)
    if amount == 0 or amount >= before.total_due:
        return
    part = settle(state, amount, on=on, terms=TERMS)
    assert part.taken == amount and part.leftover == 0 and part.discount == 0
    assert part.late_fee >= rules.late_fee(part.principal, on=on, terms=TERMS)
    after = due_now(part.state, on=on, terms=TERMS)
    if before.discount_offered:  # the discount stays offered for the rest
        assert after.total_due == before.total_due - amount
    else:
        assert abs(after.total_due - (before.total_due - amount)) <= D("0.01")


def test_negative_payment_is_a_bug() -> None:
    with pytest.raises(ValueError):
        settle(bill(), D("-1"), on=date(2026, 11, 1), terms=TERMS)
