"""Arrears reminders: one outbox message per account that owes money, at most once a day.

The dedupe key is account + season (or "all") + the company's local date, so a job rerun the same
day enqueues nothing new, and tomorrow's run reminds again with tomorrow's late fee.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tools.billing.models import Bill
from tools.billing.rules import ZERO, SeasonTerms
from tools.billing.statement import BillState, DueNow, due_now
from tools.clock import Clock, local_date
from tools.company.models import Company, HeatingSeason
from tools.crm.models import Account
from tools.outbox import OutboxMessage, enqueue

DEFAULT_MIN_AMOUNT = Decimal("1.00")


@dataclass(frozen=True)
class _Owed:
    season: HeatingSeason
    due: DueNow


async def enqueue_arrears_reminders(
    session: AsyncSession,
    *,
    clock: Clock,
    season_code: str | None = None,
    min_amount: Decimal = DEFAULT_MIN_AMOUNT,
) -> int:
    """Remind every account owing at least ``min_amount`` today (in one season, or in all);
    returns how many reminders were newly enqueued."""
    today = local_date(clock)
    stmt = (
        select(Bill, HeatingSeason, Account.account_no, Company.short_name)
        .join(HeatingSeason, Bill.season_id == HeatingSeason.id)
        .join(Company, HeatingSeason.company_id == Company.id)
        .join(Account, Bill.account_id == Account.id)
        .where(Bill.status.in_(("unpaid", "partial")))
        .order_by(Bill.account_id, HeatingSeason.starts_on)
    )
    if season_code is not None:
        stmt = stmt.where(HeatingSeason.code == season_code)
    owed: dict[str, list[_Owed]] = defaultdict(list)
    names: dict[str, tuple[str, str]] = {}
    for bill, season, account_no, company in (await session.execute(stmt)).all():
        due = due_now(BillState.of(bill), on=today, terms=SeasonTerms.of(season))
        if due.total_due > ZERO:
            owed[bill.account_id].append(_Owed(season, due))
            names[bill.account_id] = (account_no, company)
    scope = season_code or "all"
    keys = {account_id: f"arrears:{account_id}:{scope}:{today.isoformat()}" for account_id in owed}
    done = set(
        await session.scalars(
            select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(keys.values()))
        )
    )
    created = 0
    for account_id, items in owed.items():
        total = sum((item.due.total_due for item in items), ZERO)
        if total < min_amount or keys[account_id] in done:
            continue
        account_no, company = names[account_id]
        await enqueue(
            session,
            clock=clock,
            kind="arrears_reminder",
            account_id=account_id,
            text=reminder_text(company=company, account_no=account_no, items=items, total=total, today=today),
            payload={
                "total_due": str(total),
                "seasons": {item.season.code: str(item.due.total_due) for item in items},
                "as_of": today.isoformat(),
            },
            dedupe_key=keys[account_id],
        )
        created += 1
    return created


def reminder_text(*, company: str, account_no: str, items: list[_Owed], total: Decimal, today: date) -> str:
    parts = "，".join(f"{item.season.code}采暖季 {item.due.total_due} 元" for item in items)
    overdue = [item for item in items if item.due.late_fee > ZERO]
    if overdue:
        fees = sum((item.due.late_fee for item in overdue), ZERO)
        deadline = min(item.season.pay_deadline for item in overdue)
        when = f"已超过缴费截止日 {deadline}，其中含滞纳金 {fees} 元，滞纳金按日累加，请尽快缴纳"
    else:
        deadline = min(item.season.pay_deadline for item in items)
        when = f"缴费截止日为 {deadline}，逾期将按日加收滞纳金"
    return (
        f"【{company}】尊敬的用户，您的户号 {account_no} 截至 {today} 尚欠供热费 {total} 元（{parts}），"
        f"{when}。可在公众号“我要缴费”中直接缴纳，如已缴费请忽略本提醒。"
    )
