"""Bill rows: amounts are computed from the account and the season's tariff, never typed in.

A row says which season, whether it was 报停, and what was paid when; the base fee, the early
discount (only for full payment on or before the discount deadline) and the status follow from
the company's rules, so an import can never disagree with what the bot quotes.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tools import validators
from tools.billing import rules
from tools.billing.models import Bill
from tools.clock import Clock, at_local
from tools.company.models import HeatingSeason
from tools.crm.models import Account
from tools.importing import Importer, RowError


class BillRow(BaseModel):
    account_no: str
    season: str
    suspended: bool = False
    amount_paid: Decimal = Decimal("0.00")
    paid_on: date | None = None

    _account = field_validator("account_no")(lambda cls, v: validators.account_no(v))
    _suspended = field_validator("suspended", mode="before")(lambda cls, v: validators.yes_no(v))

    @field_validator("amount_paid", mode="before")
    @classmethod
    def _paid(cls, value: Any) -> Decimal:
        return validators.decimal_places(value, minimum=Decimal("0"))

    @model_validator(mode="after")
    def _paid_needs_date(self) -> BillRow:
        if self.amount_paid > 0 and self.paid_on is None:
            raise ValueError("已缴金额大于 0 时需要填写缴费日期（paid_on）")
        return self


def charge(account: Account, season: HeatingSeason, row: BillRow) -> dict[str, Any]:
    """The bill's fields as the rules compute them for this row."""
    terms = rules.SeasonTerms.of(season)
    unit_price = season.tariff_for(account.kind).unit_price
    base = rules.base_fee(account.heated_area, unit_price, suspended=row.suspended, terms=terms)
    discount = Decimal("0.00")
    if row.paid_on is not None:
        candidate = rules.early_discount(base, paid_on=row.paid_on, terms=terms, suspended=row.suspended)
        if candidate and row.amount_paid == base - candidate:
            discount = candidate
    due = base - discount
    status = "paid" if row.amount_paid >= due else "partial" if row.amount_paid > 0 else "unpaid"
    return {
        "heated_area": account.heated_area,
        "unit_price": unit_price,
        "suspended": row.suspended,
        "base_amount": base,
        "discount_amount": discount,
        "amount_paid": row.amount_paid,
        "status": status,
        "paid_at": at_local(row.paid_on, 12) if row.paid_on and status == "paid" else None,
    }


async def _lookups(session: AsyncSession) -> tuple[dict[str, Account], dict[str, HeatingSeason]]:
    accounts = {a.account_no: a for a in await session.scalars(select(Account))}
    seasons = {s.code: s for s in await session.scalars(select(HeatingSeason))}
    return accounts, seasons


async def _check(session: AsyncSession, rows: list[tuple[int, BillRow]]) -> list[RowError]:
    accounts, seasons = await _lookups(session)
    errors = []
    for line, row in rows:
        account, season = accounts.get(row.account_no), seasons.get(row.season)
        if account is None:
            errors.append(RowError(line, f"户号 {row.account_no} 不存在，请先导入住户"))
            continue
        if season is None:
            errors.append(RowError(line, f"采暖季 {row.season} 不存在"))
            continue
        try:
            fields = charge(account, season, row)
        except LookupError:
            errors.append(RowError(line, f"采暖季 {row.season} 没有{account.kind}价格"))
            continue
        due = fields["base_amount"] - fields["discount_amount"]
        if row.amount_paid > due:
            errors.append(RowError(line, f"已缴金额 {row.amount_paid} 超过应缴 {due}"))
    return errors


async def _write(session: AsyncSession, rows: list[BillRow], clock: Clock) -> tuple[int, int]:
    accounts, seasons = await _lookups(session)
    bills = {(b.account_id, b.season_id): b for b in await session.scalars(select(Bill))}
    created = updated = 0
    for row in rows:
        account, season = accounts[row.account_no], seasons[row.season]
        fields = charge(account, season, row)
        bill = bills.get((account.id, season.id))
        if bill is None:
            session.add(Bill(account_id=account.id, season_id=season.id, **fields))
            created += 1
        else:
            for key, value in fields.items():
                setattr(bill, key, value)
            updated += 1
    await session.flush()
    return created, updated


BILLS = Importer(
    required=frozenset({"account_no", "season"}),
    optional=frozenset({"suspended", "amount_paid", "paid_on"}),
    row_model=BillRow,
    key=lambda row: (row.account_no, row.season),
    check=_check,
    write=_write,
)
