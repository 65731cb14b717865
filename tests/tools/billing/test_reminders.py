"""Arrears reminders: one message per owing account, once per local day, with amount and deadline."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.tools.billing.factories import PREVIOUS, make_account, make_bill
from tools.billing.reminders import enqueue_arrears_reminders
from tools.clock import FixedClock, at_local
from tools.outbox import OutboxMessage


async def _messages(session: AsyncSession) -> list[OutboxMessage]:
    return list(
        await session.scalars(select(OutboxMessage).order_by(OutboxMessage.created_at, OutboxMessage.id))
    )


async def test_one_reminder_per_owing_account_with_amount_and_deadline(
    session: AsyncSession, clock: FixedClock
) -> None:
    owing = await make_account(session)
    await make_bill(session, account=owing)
    await make_bill(session, account=owing, season_code=PREVIOUS)
    paid = await make_account(session)
    await make_bill(session, account=paid, amount_paid=D("2327.00"))
    assert await enqueue_arrears_reminders(session, clock=clock) == 1
    [message] = await _messages(session)
    assert (message.kind, message.account_id) == ("arrears_reminder", owing.id)
    assert message.dedupe_key == f"arrears:{owing.id}:all:2026-11-22"
    assert "5033.30" in message.text and owing.account_no in message.text
    assert "2025-2026采暖季 2706.30 元" in message.text and "滞纳金 379.30 元" in message.text
    assert "2025-12-31" in message.text  # the deadline that was missed
    assert message.payload["total_due"] == "5033.30"


async def test_rerunning_the_same_local_day_adds_nothing_and_the_next_day_reminds_again(
    session: AsyncSession, clock: FixedClock
) -> None:
    account = await make_account(session)
    await make_bill(session, account=account)
    clock.set(at_local(date(2026, 11, 22), 0, 5))
    assert await enqueue_arrears_reminders(session, clock=clock) == 1
    clock.set(at_local(date(2026, 11, 22), 23, 55))
    assert await enqueue_arrears_reminders(session, clock=clock) == 0
    clock.advance(timedelta(minutes=10))
    assert await enqueue_arrears_reminders(session, clock=clock) == 1
    assert [m.dedupe_key.rsplit(":", 1)[1] for m in await _messages(session)] == ["2026-11-22", "2026-11-23"]


async def test_season_filter_counts_only_that_season(session: AsyncSession, clock: FixedClock) -> None:
    account = await make_account(session)
    await make_bill(session, account=account)
    await make_bill(session, account=account, season_code=PREVIOUS)
    assert await enqueue_arrears_reminders(session, clock=clock, season_code="2026-2027") == 1
    [message] = await _messages(session)
    assert "2327.00" in message.text and "2025-2026" not in message.text
    assert "缴费截止日为 2026-12-31" in message.text
    assert message.dedupe_key.endswith(":2026-2027:2026-11-22")


async def test_amounts_below_the_minimum_are_not_reminded(session: AsyncSession, clock: FixedClock) -> None:
    small = await make_account(session)
    await make_bill(session, account=small, amount_paid=D("2326.50"))  # 0.50 left
    big = await make_account(session)
    await make_bill(session, account=big, amount_paid=D("2000.00"))
    assert await enqueue_arrears_reminders(session, clock=clock, min_amount=D("1.00")) == 1
    [message] = await _messages(session)
    assert message.account_id == big.id and "327.00" in message.text
