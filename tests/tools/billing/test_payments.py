"""Payment orders: the quote, its allocation, expiry, reuse, idempotency and the WeChat payload."""

from __future__ import annotations

import asyncio
import re
from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from wechatpy.pay.utils import calculate_signature

from tests.tools.billing.factories import PREVIOUS, make_account, make_bill
from tools.billing.models import PaymentOrder
from tools.billing.payments import create_payment_order
from tools.clock import FixedClock, at_local
from tools.db import transaction
from tools.errors import Conflict, NotFound
from tools.settings import Settings


async def _orders(session: AsyncSession) -> list[PaymentOrder]:
    return list(await session.scalars(select(PaymentOrder).order_by(PaymentOrder.created_at)))


async def test_order_covers_every_unpaid_bill_oldest_season_first_with_late_fees(
    session: AsyncSession, clock: FixedClock, settings: Settings
) -> None:
    account = await make_account(session)
    current = await make_bill(session, account=account)
    old = await make_bill(session, account=account, season_code=PREVIOUS)
    order = await create_payment_order(session, account_id=account.id, clock=clock, settings=settings)
    assert order.amount == D("5033.30") and order.status == "pending" and not order.reused
    assert [(a.season_code, a.amount) for a in order.allocations] == [
        ("2025-2026", D("2706.30")),
        ("2026-2027", D("2327.00")),
    ]
    [stored] = await _orders(session)
    assert stored.allocations == {old.id: "2706.30", current.id: "2327.00"}
    assert order.expires_at - order.created_at == timedelta(hours=2)
    assert order.created_at == clock.now()


async def test_order_includes_the_early_discount_on_the_deadline_day(
    session: AsyncSession, clock: FixedClock, settings: Settings
) -> None:
    account = await make_account(session)
    await make_bill(session, account=account)
    clock.set(clock.now().replace(month=10, day=31))
    order = await create_payment_order(session, account_id=account.id, clock=clock, settings=settings)
    assert order.amount == D("2257.19")


async def test_order_no_is_a_valid_wechat_out_trade_no(
    session: AsyncSession, clock: FixedClock, settings: Settings
) -> None:
    account = await make_account(session)
    await make_bill(session, account=account)
    order = await create_payment_order(session, account_id=account.id, clock=clock, settings=settings)
    assert re.fullmatch(r"[0-9A-Za-z_\-|*]{1,32}", order.order_no)


async def test_prepay_payload_is_signed_with_wechatpys_md5_signature(
    session: AsyncSession, clock: FixedClock, settings: Settings
) -> None:
    account = await make_account(session)
    await make_bill(session, account=account)
    order = await create_payment_order(session, account_id=account.id, clock=clock, settings=settings)
    assert order.prepay is not None
    jsapi = dict(order.prepay.jsapi)
    pay_sign = jsapi.pop("paySign")
    assert set(jsapi) == {"appId", "timeStamp", "nonceStr", "package", "signType"}
    assert jsapi["appId"] == settings.wechat_app_id and jsapi["signType"] == "MD5"
    assert jsapi["package"] == f"prepay_id={order.prepay.prepay_id}"
    assert jsapi["timeStamp"] == str(int(clock.now().timestamp()))
    assert pay_sign == calculate_signature(jsapi, settings.pay_api_key.get_secret_value())
    assert order.prepay.code_url.startswith("weixin://wxpay/bizpayurl?pr=")


async def test_same_idempotency_key_returns_the_same_order_even_a_day_later(
    session: AsyncSession, clock: FixedClock, settings: Settings
) -> None:
    account = await make_account(session)
    await make_bill(session, account=account)
    first = await create_payment_order(
        session, account_id=account.id, clock=clock, settings=settings, idempotency_key="tool:call-1"
    )
    clock.advance(timedelta(days=1))
    again = await create_payment_order(
        session, account_id=account.id, clock=clock, settings=settings, idempotency_key="tool:call-1"
    )
    assert again.order_no == first.order_no and again.reused
    assert again.prepay is None  # expired: the channel must not offer to pay it
    assert len(await _orders(session)) == 1


async def test_idempotency_key_of_another_account_is_refused(
    session: AsyncSession, clock: FixedClock, settings: Settings
) -> None:
    mine, theirs = await make_account(session), await make_account(session)
    await make_bill(session, account=mine)
    await make_bill(session, account=theirs)
    await create_payment_order(
        session, account_id=theirs.id, clock=clock, settings=settings, idempotency_key="k"
    )
    with pytest.raises(Conflict):
        await create_payment_order(
            session, account_id=mine.id, clock=clock, settings=settings, idempotency_key="k"
        )


async def test_pending_order_for_the_same_amount_is_reused(
    session: AsyncSession, clock: FixedClock, settings: Settings
) -> None:
    account = await make_account(session)
    await make_bill(session, account=account)
    first = await create_payment_order(session, account_id=account.id, clock=clock, settings=settings)
    clock.advance(timedelta(minutes=90))
    second = await create_payment_order(
        session, account_id=account.id, clock=clock, settings=settings, idempotency_key="tool:b"
    )
    assert second.order_no == first.order_no and second.reused
    assert second.prepay == first.prepay  # the payload is stable for one order
    assert len(await _orders(session)) == 1


async def test_order_about_to_expire_is_replaced_not_reused(
    session: AsyncSession, clock: FixedClock, settings: Settings
) -> None:
    account = await make_account(session)
    await make_bill(session, account=account)
    first = await create_payment_order(session, account_id=account.id, clock=clock, settings=settings)
    clock.advance(timedelta(minutes=111))  # 9 minutes left: too little to pay comfortably
    second = await create_payment_order(session, account_id=account.id, clock=clock, settings=settings)
    assert second.order_no != first.order_no
    assert [order.status for order in await _orders(session)] == ["closed", "pending"]


async def test_expired_order_is_not_reused(
    session: AsyncSession, clock: FixedClock, settings: Settings
) -> None:
    account = await make_account(session)
    await make_bill(session, account=account)
    first = await create_payment_order(session, account_id=account.id, clock=clock, settings=settings)
    clock.advance(timedelta(hours=2))
    second = await create_payment_order(session, account_id=account.id, clock=clock, settings=settings)
    assert second.order_no != first.order_no
    assert [order.status for order in await _orders(session)] == ["expired", "pending"]


async def test_a_new_amount_after_local_midnight_supersedes_the_pending_order(
    session: AsyncSession, clock: FixedClock, settings: Settings
) -> None:
    account = await make_account(session)
    await make_bill(session, account=account)
    clock.set(at_local(date(2027, 1, 5), 23, 30))
    first = await create_payment_order(session, account_id=account.id, clock=clock, settings=settings)
    clock.advance(timedelta(hours=1))  # 00:30 on the 6th: one more day of late fee, order still alive
    second = await create_payment_order(session, account_id=account.id, clock=clock, settings=settings)
    assert (first.amount, second.amount) == (D("2332.82"), D("2333.98"))  # 5 → 6 days of late fee
    assert [order.status for order in await _orders(session)] == ["closed", "pending"]


async def test_a_new_quote_closes_the_other_pending_order(
    session: AsyncSession, clock: FixedClock, settings: Settings
) -> None:
    account = await make_account(session)
    await make_bill(session, account=account)
    first = await create_payment_order(session, account_id=account.id, clock=clock, settings=settings)
    await make_bill(session, account=account, season_code=PREVIOUS)  # a back bill arrives meanwhile
    second = await create_payment_order(session, account_id=account.id, clock=clock, settings=settings)
    assert (first.amount, second.amount) == (D("2327.00"), D("5033.30"))
    assert [order.status for order in await _orders(session)] == ["closed", "pending"]


async def test_nothing_due_is_a_clear_conflict(
    session: AsyncSession, clock: FixedClock, settings: Settings
) -> None:
    account = await make_account(session)
    await make_bill(session, account=account, amount_paid=D("2327.00"))
    with pytest.raises(Conflict) as caught:
        await create_payment_order(session, account_id=account.id, clock=clock, settings=settings)
    assert caught.value.message == "当前没有待缴费用" and caught.value.code == "nothing_due"
    no_bills = await make_account(session)
    with pytest.raises(Conflict):
        await create_payment_order(session, account_id=no_bills.id, clock=clock, settings=settings)
    assert await session.scalar(select(func.count()).select_from(PaymentOrder)) == 0


async def test_unknown_account_cannot_order(
    session: AsyncSession, clock: FixedClock, settings: Settings
) -> None:
    with pytest.raises(NotFound):
        await create_payment_order(session, account_id="ghost", clock=clock, settings=settings)


@pytest.mark.postgres
async def test_two_devices_ordering_at_once_get_one_pending_order(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock, settings: Settings
) -> None:
    async with transaction(sessions) as session:
        account = await make_account(session)
        await make_bill(session, account=account)

    async def tap(key: str) -> str:
        async with transaction(sessions) as session:
            order = await create_payment_order(
                session, account_id=account.id, clock=clock, settings=settings, idempotency_key=key
            )
            return order.order_no

    numbers = await asyncio.gather(*(tap(f"device-{i}") for i in range(5)))
    assert len(set(numbers)) == 1
    async with sessions() as session:
        assert [order.status for order in await _orders(session)] == ["pending"]


@pytest.mark.postgres
async def test_concurrent_replays_of_one_tool_call_create_one_order(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock, settings: Settings
) -> None:
    async with transaction(sessions) as session:
        account = await make_account(session)
        await make_bill(session, account=account)

    async def replay() -> str:
        async with transaction(sessions) as session:
            order = await create_payment_order(
                session, account_id=account.id, clock=clock, settings=settings, idempotency_key="tool:same"
            )
            return order.order_no

    assert len(set(await asyncio.gather(*(replay() for _ in range(5))))) == 1
    async with sessions() as session:
        assert len(await _orders(session)) == 1
