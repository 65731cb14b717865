"""Billing queries: a resident's bills with what is due now and why, arrears, payment history.

Every function takes the session first and keyword-only arguments, reads "today" from the injected
clock in the company's timezone, and computes money only through ``statement``/``rules``.
Writes live beside this module: ``payments`` (orders), ``notify`` (callbacks), ``invoices``,
``reminders``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tools.billing.models import Bill, Payment, PaymentOrder
from tools.billing.rules import ZERO, SeasonTerms
from tools.billing.schemas import (
    BILL_STATUS_ZH,
    AccountStatement,
    BillLinePublic,
    BillPublic,
    PaymentRecord,
)
from tools.billing.statement import BillState, due_now
from tools.clock import Clock, local_date
from tools.company.models import HeatingSeason
from tools.crm.models import Account
from tools.errors import NotFound


async def load_bills(
    session: AsyncSession, *, account_id: str, season_code: str | None = None, for_update: bool = False
) -> list[tuple[Bill, HeatingSeason]]:
    """The account's bills with their seasons, oldest season first."""
    stmt = (
        select(Bill, HeatingSeason)
        .join(HeatingSeason, Bill.season_id == HeatingSeason.id)
        .where(Bill.account_id == account_id)
        .order_by(HeatingSeason.starts_on, Bill.id)
    )
    if season_code is not None:
        stmt = stmt.where(HeatingSeason.code == season_code)
    if for_update:
        stmt = stmt.with_for_update(of=Bill).execution_options(populate_existing=True)
    return [(bill, season) for bill, season in (await session.execute(stmt)).all()]


def view_bill(bill: Bill, season: HeatingSeason, *, on: date) -> BillPublic:
    terms = SeasonTerms.of(season)
    due = due_now(BillState.of(bill), on=on, terms=terms)
    return BillPublic(
        bill_id=bill.id,
        season_code=season.code,
        status=bill.status,
        status_text=BILL_STATUS_ZH.get(bill.status, bill.status),
        heated_area=bill.heated_area,
        unit_price=bill.unit_price,
        suspended=bill.suspended,
        full_fee=due.full_fee,
        base=due.base,
        discount=due.discount,
        discount_offered=due.discount_offered,
        discount_deadline=terms.discount_deadline,
        pay_deadline=terms.pay_deadline,
        paid_principal=due.paid_principal,
        paid_late_fee=due.paid_late_fee,
        principal_due=due.principal_due,
        late_days=due.late_days,
        late_fee=due.late_fee,
        due_now=due.total_due,
        as_of=on,
        lines=[BillLinePublic(label=line.label, amount=line.amount) for line in due.lines],
    )


async def get_account(session: AsyncSession, *, account_id: str) -> Account:
    account = await session.get(Account, account_id)
    if account is None:
        raise NotFound("未找到该户号", code="account_not_found")
    return account


async def get_bills(
    session: AsyncSession, *, account_id: str, clock: Clock, season_code: str | None = None
) -> list[BillPublic]:
    """Each season's bill as of today (local date), oldest first."""
    today = local_date(clock)
    return [
        view_bill(bill, season, on=today)
        for bill, season in await load_bills(session, account_id=account_id, season_code=season_code)
    ]


async def get_statement(session: AsyncSession, *, account_id: str, clock: Clock) -> AccountStatement:
    """Everything the account owes today: the current season, arrears across seasons, the total."""
    account = await get_account(session, account_id=account_id)
    bills = await get_bills(session, account_id=account_id, clock=clock)
    arrears = [bill for bill in bills if bill.due_now > ZERO]
    return AccountStatement(
        account_id=account.id,
        account_no=account.account_no,
        as_of=local_date(clock),
        bills=bills,
        current=bills[-1] if bills else None,
        arrears=arrears,
        total_due=sum((bill.due_now for bill in arrears), ZERO),
    )


async def list_arrears(session: AsyncSession, *, account_id: str, clock: Clock) -> list[BillPublic]:
    """Bills with something due today, oldest season first (the order payments settle them in)."""
    return [bill for bill in await get_bills(session, account_id=account_id, clock=clock) if bill.due_now]


async def get_payment_history(
    session: AsyncSession, *, account_id: str, limit: int = 20
) -> list[PaymentRecord]:
    """Credited payments, newest first, plus what bills show paid through other channels
    (service halls, banks: imported with the bill) that no online payment accounts for."""
    rows = await session.execute(
        select(Payment, PaymentOrder.order_no)
        .join(PaymentOrder, Payment.order_id == PaymentOrder.id)
        .where(Payment.account_id == account_id, Payment.status == "credited")
        .order_by(Payment.paid_at.desc())
    )
    bills = await load_bills(session, account_id=account_id)
    season_of = {bill.id: season.code for bill, season in bills}
    online: dict[str, Decimal] = defaultdict(lambda: ZERO)
    records: list[PaymentRecord] = []
    for payment, order_no in rows.all():
        applied = {k: v for k, v in (payment.applied or {}).items() if k in season_of}
        for bill_id, parts in applied.items():
            online[bill_id] += Decimal(parts["principal"]) + Decimal(parts["late_fee"])
        records.append(
            PaymentRecord(
                paid_at=payment.paid_at,
                amount=payment.amount,
                channel="微信支付" if payment.method == "wechat_pay" else payment.method,
                order_no=order_no,
                transaction_id=payment.transaction_id,
                seasons=sorted({season_of[bill_id] for bill_id in applied}),
            )
        )
    for bill, season in bills:
        offline = bill.amount_paid + bill.late_fee_paid - online[bill.id]
        if offline > ZERO:
            records.append(
                PaymentRecord(
                    paid_at=bill.paid_at,
                    amount=offline,
                    channel="营业厅/银行等其他渠道",
                    order_no=None,
                    transaction_id=None,
                    seasons=[season.code],
                )
            )
    records.sort(key=lambda r: (r.paid_at is not None, r.paid_at), reverse=True)
    return records[:limit]
