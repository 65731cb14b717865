"""What one bill asks for on a given day, and how a sum of money settles it — pure functions.

Both build on ``rules`` (base fee, early discount, late fee); nothing here rounds on its own
except through ``round_money``. The bookkeeping they assume:

* ``amount_paid`` is principal paid, ``late_fee_paid`` is late fees paid, ``discount_amount`` is a
  discount already earned (the bill was settled in full on or before the discount deadline).
* The early discount is offered whenever the rest of the bill is settled in full on or before the
  discount deadline (never for 报停 fees).
* The late fee due today is ``rules.late_fee`` of the principal still unpaid: it accrues only on
  unpaid principal. Whoever pays principal after the deadline pays that principal's own late fee
  with it (``settle``), so principal paid later can never escape the fee it accrued, and the fees
  already paid (``late_fee_paid``) never need to be subtracted again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, Decimal

from tools.billing import rules
from tools.billing.rules import ZERO, BillLine, SeasonTerms
from tools.db import CENT, round_money

SETTLED_STATUSES = frozenset({"paid", "waived"})


@dataclass(frozen=True)
class BillState:
    """The stored facts of a bill (the columns of ``Bill`` that money depends on)."""

    heated_area: Decimal
    unit_price: Decimal
    suspended: bool
    base_amount: Decimal
    discount_amount: Decimal = ZERO
    amount_paid: Decimal = ZERO
    late_fee_paid: Decimal = ZERO
    status: str = "unpaid"

    @classmethod
    def of(cls, bill: object) -> BillState:
        return cls(**{field: getattr(bill, field) for field in cls.__dataclass_fields__})


@dataclass(frozen=True)
class DueNow:
    """A bill on one day: every figure a resident may ask "why" about, and the lines that say so."""

    on: date
    full_fee: Decimal  # heated area × tariff
    base: Decimal  # what the season costs (报停: the configured share of the full fee)
    discount: Decimal  # earned, or offered if the rest is settled in full today
    discount_offered: bool
    paid_principal: Decimal
    paid_late_fee: Decimal
    principal_due: Decimal
    late_days: int
    late_fee: Decimal
    total_due: Decimal
    lines: tuple[BillLine, ...]

    @property
    def paid_total(self) -> Decimal:
        return self.paid_principal + self.paid_late_fee


def due_now(state: BillState, *, on: date, terms: SeasonTerms) -> DueNow:
    full = rules.base_fee(state.heated_area, state.unit_price, suspended=False, terms=terms)
    settled = state.status in SETTLED_STATUSES
    discount, offered = state.discount_amount, False
    if not settled and discount == ZERO:
        discount = rules.early_discount(state.base_amount, paid_on=on, terms=terms, suspended=state.suspended)
        # Never more than is left to pay: a partial payment can already exceed the discounted price.
        discount = min(discount, max(ZERO, state.base_amount - state.amount_paid))
        offered = discount > ZERO
    principal = ZERO if settled else max(ZERO, state.base_amount - discount - state.amount_paid)
    fee = rules.late_fee(principal, on=on, terms=terms)
    days = rules.late_days(on=on, terms=terms) if fee > ZERO else 0
    # The lines add up to ``total_due`` for any bill still open (the "why" of the amount).
    lines = [BillLine(f"供热费 {state.heated_area}㎡ × {state.unit_price}元/㎡", full)]
    if state.suspended:
        lines.append(
            BillLine(f"报停（只收{_percent(terms.suspend_fee_ratio)}基本热费）", state.base_amount - full)
        )
    if discount > ZERO:
        label = (
            f"提前缴费优惠{_percent(terms.discount_rate)}（{terms.discount_deadline}前全额缴清）"
            if offered
            else "已享提前缴费优惠"
        )
        lines.append(BillLine(label, -discount))
    if state.amount_paid > ZERO:
        lines.append(BillLine("已缴热费", -state.amount_paid))
    if fee > ZERO:
        label = (
            f"滞纳金 欠费{principal}元 × {_permyriad(terms.late_fee_daily_rate)}/天 × {days}天"
            f"（{terms.pay_deadline}后起算）"
        )
        if fee < round_money(principal * terms.late_fee_daily_rate * days):
            label += f"，已达上限（欠费的{_percent(terms.late_fee_cap_ratio)}）"
        lines.append(BillLine(label, fee))
    return DueNow(
        on=on,
        full_fee=full,
        base=state.base_amount,
        discount=discount,
        discount_offered=offered,
        paid_principal=state.amount_paid,
        paid_late_fee=state.late_fee_paid,
        principal_due=principal,
        late_days=days,
        late_fee=fee,
        total_due=principal + fee,
        lines=tuple(lines),
    )


@dataclass(frozen=True)
class Settlement:
    """How much of a sum went to one bill, and the bill's new facts."""

    principal: Decimal
    late_fee: Decimal
    discount: Decimal  # the discount earned by this settlement (zero unless settled in full early)
    leftover: Decimal  # what this bill could not take
    state: BillState

    @property
    def taken(self) -> Decimal:
        return self.principal + self.late_fee


def settle(state: BillState, amount: Decimal, *, on: date, terms: SeasonTerms) -> Settlement:
    """Apply ``amount`` to the bill as of ``on``.

    Enough to clear what is due pays it all (earning an offered discount) and returns the rest as
    ``leftover``. Less than that pays principal together with exactly the late fee that principal
    accrued (the largest principal ``p`` with ``p + late_fee(p) <= amount``; a rounding fen left
    over goes to the late fee), and never earns the discount.
    """
    if amount < ZERO:
        raise ValueError("a payment cannot be negative")
    due = due_now(state, on=on, terms=terms)
    if due.total_due == ZERO:
        return Settlement(ZERO, ZERO, ZERO, amount, state)
    if amount >= due.total_due:
        earned = due.discount if due.discount_offered else ZERO
        new = _with(state, due.principal_due, due.late_fee, earned, status="paid")
        return Settlement(due.principal_due, due.late_fee, earned, amount - due.total_due, new)
    principal_left = state.base_amount - state.discount_amount - state.amount_paid
    principal = _principal_within(amount, cap=principal_left, on=on, terms=terms)
    fee = amount - principal
    new = _with(state, principal, fee, ZERO, status="partial" if amount > ZERO else state.status)
    return Settlement(principal, fee, ZERO, ZERO, new)


def _principal_within(amount: Decimal, *, cap: Decimal, on: date, terms: SeasonTerms) -> Decimal:
    def cost(p: Decimal) -> Decimal:
        return p + rules.late_fee(p, on=on, terms=terms)

    days = rules.late_days(on=on, terms=terms)
    factor = Decimal(1) + min(terms.late_fee_daily_rate * days, terms.late_fee_cap_ratio)
    guess = min(cap, (amount / factor).quantize(CENT, rounding=ROUND_DOWN))
    # Per-fen rounding makes the closed form off by a fen or two at most; walk to the exact answer.
    while guess > ZERO and cost(guess) > amount:
        guess -= CENT
    while guess + CENT <= cap and cost(guess + CENT) <= amount:
        guess += CENT
    return guess


def _with(state: BillState, principal: Decimal, fee: Decimal, discount: Decimal, *, status: str) -> BillState:
    return BillState(
        heated_area=state.heated_area,
        unit_price=state.unit_price,
        suspended=state.suspended,
        base_amount=state.base_amount,
        discount_amount=state.discount_amount + discount,
        amount_paid=state.amount_paid + principal,
        late_fee_paid=state.late_fee_paid + fee,
        status=status,
    )


def _percent(ratio: Decimal) -> str:
    return f"{round_money(ratio * 100).normalize():f}%"


def _permyriad(rate: Decimal) -> str:
    return f"万分之{round_money(rate * 10000).normalize():f}"
