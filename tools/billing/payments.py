"""Payment orders: one order for everything due now, and applying received money to bills.

An order is a quote: it fixes, on the day it is created, how much each unpaid bill takes (oldest
season first, late fees included) and lives two hours. The same idempotency key always returns
the same order (a replayed tool call); a pending order for the same amount with at least 10
minutes left is reused (a double tap); a new quote supersedes (closes) the account's other
pending orders. A payment that still arrives for a closed or expired order is real money and is
credited all the same.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tools.billing.models import PaymentOrder
from tools.billing.rules import ZERO, SeasonTerms
from tools.billing.schemas import ORDER_STATUS_ZH, OrderAllocation, PaymentOrderPublic
from tools.billing.service import load_bills
from tools.billing.statement import BillState, due_now, settle
from tools.billing.wechat_pay import make_prepay
from tools.clock import COMPANY_TZ, Clock, local_date
from tools.crm.models import Account
from tools.errors import Conflict, NotFound
from tools.settings import Settings

ORDER_TTL = timedelta(hours=2)
REUSE_MIN_LEFT = timedelta(minutes=10)  # an order about to expire is replaced, not handed out again


async def create_payment_order(
    session: AsyncSession,
    *,
    account_id: str,
    clock: Clock,
    settings: Settings,
    idempotency_key: str | None = None,
) -> PaymentOrderPublic:
    """An order for the total due now across the account's unpaid bills, with its WeChat payload.

    Raises ``Conflict`` (code ``nothing_due``, "当前没有待缴费用") when nothing is due.
    """
    if idempotency_key is not None:
        existing = await _by_key(session, idempotency_key)
        if existing is not None:
            if existing.account_id != account_id:
                raise Conflict("该请求编号已被使用", code="idempotency_key_reused")
            return await _public(session, existing, settings=settings, clock=clock, reused=True)
    # One quote at a time per account (PostgreSQL: FOR NO KEY UPDATE, which still lets rows that
    # reference the account be inserted), so a double tap on two devices yields one pending order.
    locked = await session.scalar(
        select(Account.id).where(Account.id == account_id).with_for_update(key_share=True)
    )
    if locked is None:
        raise NotFound("未找到该户号", code="account_not_found")
    now = clock.now()
    await session.execute(
        update(PaymentOrder)
        .where(
            PaymentOrder.account_id == account_id,
            PaymentOrder.status == "pending",
            PaymentOrder.expires_at <= now,
        )
        .values(status="expired", updated_at=now)
        .execution_options(synchronize_session="fetch")
    )
    allocations = await quote(session, account_id=account_id, on=local_date(clock))
    total = sum(allocations.values(), ZERO)
    if total <= ZERO:
        raise Conflict("当前没有待缴费用", code="nothing_due")
    plan = {bill_id: str(amount) for bill_id, amount in allocations.items()}
    pending = await session.scalars(
        select(PaymentOrder)
        .where(PaymentOrder.account_id == account_id, PaymentOrder.status == "pending")
        .order_by(PaymentOrder.created_at.desc())
    )
    for order in pending:
        if order.amount == total and order.allocations == plan and order.expires_at - now >= REUSE_MIN_LEFT:
            if idempotency_key is not None and order.idempotency_key is None:
                order.idempotency_key = idempotency_key
                await session.flush()
            return await _public(session, order, settings=settings, clock=clock, reused=True)
    await session.execute(
        update(PaymentOrder)
        .where(PaymentOrder.account_id == account_id, PaymentOrder.status == "pending")
        .values(status="closed", updated_at=now)
        .execution_options(synchronize_session="fetch")
    )
    order = PaymentOrder(
        order_no=_order_no(now),
        account_id=account_id,
        amount=total,
        allocations=plan,
        status="pending",
        expires_at=now + ORDER_TTL,
        idempotency_key=idempotency_key,
        created_at=now,
        updated_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(order)
    except IntegrityError:
        # A concurrent call with the same key won the insert: its order is the answer.
        if idempotency_key is None:
            raise
        winner = await _by_key(session, idempotency_key)
        if winner is None or winner.account_id != account_id:
            raise
        return await _public(session, winner, settings=settings, clock=clock, reused=True)
    return await _public(session, order, settings=settings, clock=clock)


async def quote(session: AsyncSession, *, account_id: str, on: date) -> dict[str, Decimal]:
    """What each bill with something due takes today, oldest season first."""
    allocations: dict[str, Decimal] = {}
    for bill, season in await load_bills(session, account_id=account_id):
        due = due_now(BillState.of(bill), on=on, terms=SeasonTerms.of(season)).total_due
        if due > ZERO:
            allocations[bill.id] = due
    return allocations


async def apply_to_bills(
    session: AsyncSession, *, order: PaymentOrder, amount: Decimal, paid_at: datetime
) -> dict[str, Any]:
    """Apply received money to the order's bills; returns how (for ``Payment.applied``).

    Bills are locked (``FOR UPDATE`` on PostgreSQL) and settled oldest season first, each taking
    at most what the order planned for it, at the prices of the order's quote day when the money
    came before the order expired, else of the day it came. Whatever the bills no longer need
    (they were meanwhile paid elsewhere) is returned as ``unallocated``.
    """
    quote_day = (order.created_at if paid_at <= order.expires_at else paid_at).astimezone(COMPANY_TZ).date()
    planned = {bill_id: Decimal(value) for bill_id, value in (order.allocations or {}).items()}
    remaining = amount
    applied: dict[str, Any] = {}
    rows = await load_bills(session, account_id=order.account_id, for_update=True)
    for bill, season in rows:
        if bill.id not in planned or remaining <= ZERO:
            continue
        result = settle(
            BillState.of(bill), min(planned[bill.id], remaining), on=quote_day, terms=SeasonTerms.of(season)
        )
        if result.taken == ZERO:
            continue
        bill.amount_paid = result.state.amount_paid
        bill.late_fee_paid = result.state.late_fee_paid
        bill.discount_amount = result.state.discount_amount
        bill.status = result.state.status
        if bill.status == "paid":
            bill.paid_at = paid_at
        remaining -= result.taken
        applied[bill.id] = {
            "season_code": season.code,
            "principal": str(result.principal),
            "late_fee": str(result.late_fee),
            "discount": str(result.discount),
        }
    if remaining > ZERO:
        applied["unallocated"] = str(remaining)
    await session.flush()
    return applied


async def _by_key(session: AsyncSession, key: str) -> PaymentOrder | None:
    return await session.scalar(select(PaymentOrder).where(PaymentOrder.idempotency_key == key))


def _order_no(now: datetime) -> str:
    # WeChat's out_trade_no: at most 32 of [0-9A-Za-z_-|*]; ours is 26 and sorts by time.
    return f"WL{now.astimezone(COMPANY_TZ):%Y%m%d%H%M%S}{secrets.randbelow(10**10):010d}"


async def _public(
    session: AsyncSession,
    order: PaymentOrder,
    *,
    settings: Settings,
    clock: Clock,
    reused: bool = False,
) -> PaymentOrderPublic:
    bills = await load_bills(session, account_id=order.account_id)
    seasons = {bill.id: season.code for bill, season in bills}
    rank = {bill.id: index for index, (bill, _) in enumerate(bills)}
    payable = order.status == "pending" and order.expires_at > clock.now()
    return PaymentOrderPublic(
        order_no=order.order_no,
        account_id=order.account_id,
        amount=order.amount,
        status=order.status,
        status_text=ORDER_STATUS_ZH.get(order.status, order.status),
        created_at=order.created_at,
        expires_at=order.expires_at,
        allocations=[
            OrderAllocation(bill_id=bill_id, season_code=seasons.get(bill_id, ""), amount=Decimal(value))
            for bill_id, value in sorted(order.allocations.items(), key=lambda kv: rank.get(kv[0], -1))
        ],
        prepay=make_prepay(order_no=order.order_no, created_at=order.created_at, settings=settings)
        if payable
        else None,
        reused=reused,
    )
