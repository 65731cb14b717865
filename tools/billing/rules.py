"""Money rules for heating fees, as pure functions of the season's terms and a date.

Rounding rule (stated once, used everywhere): every amount is rounded to the fen, half up
(四舍五入到分), at the point where it is computed — base fee, discount and late fee each rounded
separately, then added. Late fees accrue per day on the unpaid principal from the day after the
payment deadline and are capped at ``late_fee_cap_ratio`` × that principal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from tools.db import round_money

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class SeasonTerms:
    """The parts of a heating season that decide what a bill costs."""

    code: str
    discount_deadline: date | None
    discount_rate: Decimal
    pay_deadline: date
    late_fee_daily_rate: Decimal
    late_fee_cap_ratio: Decimal
    suspend_fee_ratio: Decimal

    @classmethod
    def of(cls, season: object) -> SeasonTerms:
        return cls(**{field: getattr(season, field) for field in cls.__dataclass_fields__})


@dataclass(frozen=True)
class BillLine:
    label: str
    amount: Decimal


def base_fee(area: Decimal, unit_price: Decimal, *, suspended: bool, terms: SeasonTerms) -> Decimal:
    """Heated area × tariff; a suspended (报停) season pays only the configured share."""
    full = round_money(area * unit_price)
    if suspended:
        return round_money(full * terms.suspend_fee_ratio)
    return full


def early_discount(base: Decimal, *, paid_on: date, terms: SeasonTerms, suspended: bool = False) -> Decimal:
    """The discount for paying in full on or before the deadline; none for 报停 fees."""
    if suspended or terms.discount_deadline is None or paid_on > terms.discount_deadline:
        return ZERO
    return round_money(base * terms.discount_rate)


def late_days(*, on: date, terms: SeasonTerms) -> int:
    return max(0, (on - terms.pay_deadline).days)


def late_fee(unpaid: Decimal, *, on: date, terms: SeasonTerms) -> Decimal:
    if unpaid <= 0:
        return ZERO
    days = late_days(on=on, terms=terms)
    if days == 0:
        return ZERO
    fee = round_money(unpaid * terms.late_fee_daily_rate * days)
    return min(fee, round_money(unpaid * terms.late_fee_cap_ratio))
