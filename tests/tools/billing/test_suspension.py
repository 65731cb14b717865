"""报停 / 恢复供暖 applications: season deadlines, arrears first, one live request, hall decisions."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.tools.billing.factories import PREVIOUS, make_account, make_bill
from tools.billing import service, suspension
from tools.billing.models import ServiceRequest
from tools.clock import FixedClock
from tools.db import transaction
from tools.errors import Conflict
from tools.outbox import OutboxMessage

Sessions = async_sessionmaker[AsyncSession]
# 2026-10-20 10:00 local: before the 2026-2027 season (starts 11-15, 报停 deadline 10-31).
BEFORE_DEADLINE = FixedClock(datetime(2026, 10, 20, 2, 0, tzinfo=UTC))
DEADLINE_DAY = FixedClock(datetime(2026, 10, 31, 15, 59, tzinfo=UTC))  # 10-31 23:59 local
DAY_AFTER = FixedClock(datetime(2026, 10, 31, 16, 0, tzinfo=UTC))  # 11-01 00:00 local


async def _account_with_bills(session: AsyncSession, *, kind: str = "residential", old_paid: bool = True):
    account = await make_account(session, kind=kind)
    await make_bill(
        session, account=account, season_code=PREVIOUS, amount_paid=D("2327.00") if old_paid else D(0)
    )
    await make_bill(session, account=account)
    return account


async def test_suspension_before_the_deadline_is_filed_with_the_30_percent_fee(session: AsyncSession) -> None:
    account = await _account_with_bills(session)
    outcome = await suspension.apply_suspension(session, account_id=account.id, clock=BEFORE_DEADLINE)
    assert outcome.accepted and outcome.season_code == "2026-2027"
    assert outcome.request.quoted_amount == D("698.10")  # 89.5 × 26.00 × 30%, the figure in the KB
    assert outcome.request.request_no.startswith("BT20261020")
    assert "698.10" in outcome.message and outcome.request.request_no in outcome.message
    [note] = await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "service_request"))
    assert note.account_id == account.id


async def test_deadline_day_is_inclusive_in_local_time_and_the_next_day_is_refused(
    session: AsyncSession,
) -> None:
    first = await _account_with_bills(session)
    second = await _account_with_bills(session)
    on_time = await suspension.apply_suspension(session, account_id=first.id, clock=DEADLINE_DAY)
    late = await suspension.apply_suspension(session, account_id=second.id, clock=DAY_AFTER)
    assert on_time.accepted
    assert not late.accepted and late.request is None
    assert "2026年10月31日" in late.message and "不再受理" in late.message


async def test_residential_suspension_during_the_season_is_refused_but_non_residential_is_filed(
    session: AsyncSession, clock: FixedClock
) -> None:
    home = await _account_with_bills(session)
    shop = await make_account(session, kind="non_residential", area=D("120.00"))
    await make_bill(session, account=shop)
    refused = await suspension.apply_suspension(session, account_id=home.id, clock=clock)
    filed = await suspension.apply_suspension(session, account_id=shop.id, clock=clock)
    assert not refused.accepted
    assert filed.accepted and "营业厅核算" in filed.message
    assert filed.request.quoted_amount == D("1368.00")  # 120 × 38.00 × 30%


async def test_old_arrears_must_be_paid_before_a_suspension(session: AsyncSession) -> None:
    account = await _account_with_bills(session, old_paid=False)
    outcome = await suspension.apply_suspension(session, account_id=account.id, clock=BEFORE_DEADLINE)
    # 2327.00 principal + 293 late days × 0.05% (2026-01-01 … 2026-10-20) = 340.91
    assert not outcome.accepted and "往年欠费 2667.91 元" in outcome.message
    assert await session.scalar(select(func.count()).select_from(ServiceRequest)) == 0


async def test_a_second_application_returns_the_first(session: AsyncSession) -> None:
    account = await _account_with_bills(session)
    first = await suspension.apply_suspension(session, account_id=account.id, clock=BEFORE_DEADLINE)
    again = await suspension.apply_suspension(session, account_id=account.id, clock=BEFORE_DEADLINE)
    assert again.duplicate and again.request.id == first.request.id
    assert "已经提交过" in again.message
    assert await session.scalar(select(func.count()).select_from(ServiceRequest)) == 1


async def test_concurrent_applications_file_one_request(sessions: Sessions) -> None:
    async with transaction(sessions) as session:
        account_id = (await _account_with_bills(session)).id

    async def tap() -> str:
        async with transaction(sessions) as session:
            outcome = await suspension.apply_suspension(session, account_id=account_id, clock=BEFORE_DEADLINE)
            return outcome.request.id

    ids = await asyncio.gather(*(tap() for _ in range(4)), return_exceptions=True)
    filed = {i for i in ids if isinstance(i, str)}
    async with sessions() as session:
        count = await session.scalar(select(func.count()).select_from(ServiceRequest))
    assert count == 1 and len(filed) == 1


async def test_approved_suspension_reprices_the_seasons_bill(session: AsyncSession) -> None:
    account = await _account_with_bills(session)
    outcome = await suspension.apply_suspension(session, account_id=account.id, clock=BEFORE_DEADLINE)
    await suspension.decide(
        session, request_id=outcome.request.id, approve=True, actor="staff:hall", clock=BEFORE_DEADLINE
    )
    [bill] = await service.get_bills(
        session, account_id=account.id, clock=BEFORE_DEADLINE, season_code="2026-2027"
    )
    assert bill.suspended and bill.due_now == D("698.10")
    again = await suspension.apply_suspension(session, account_id=account.id, clock=BEFORE_DEADLINE)
    assert not again.accepted and "已是报停状态" in again.message


async def test_mid_season_resumption_quotes_full_fee_less_the_suspended_share(
    session: AsyncSession, clock: FixedClock
) -> None:
    account = await make_account(session)
    await make_bill(session, account=account, season_code=PREVIOUS, amount_paid=D("2327.00"))
    await make_bill(session, account=account, suspended=True, amount_paid=D("698.10"))
    outcome = await suspension.apply_resumption(session, account_id=account.id, clock=clock)
    assert outcome.accepted and outcome.request.quoted_amount == D("1628.90")  # 2327.00 − 698.10
    await suspension.decide(
        session, request_id=outcome.request.id, approve=True, actor="staff:hall", clock=clock
    )
    [view] = await service.get_bills(session, account_id=account.id, clock=clock, season_code="2026-2027")
    assert not view.suspended and view.due_now == D("1628.90") and view.status == "partial"


async def test_resumption_without_suspension_needs_nothing(session: AsyncSession, clock: FixedClock) -> None:
    account = await _account_with_bills(session)
    outcome = await suspension.apply_resumption(session, account_id=account.id, clock=clock)
    assert not outcome.accepted and "无需办理恢复供暖" in outcome.message


async def test_a_decided_request_cannot_be_decided_again(session: AsyncSession) -> None:
    account = await _account_with_bills(session)
    outcome = await suspension.apply_suspension(session, account_id=account.id, clock=BEFORE_DEADLINE)
    await suspension.decide(
        session,
        request_id=outcome.request.id,
        approve=False,
        actor="staff:hall",
        clock=BEFORE_DEADLINE,
        reason="房屋有人居住",
    )
    with pytest.raises(Conflict):
        await suspension.decide(
            session, request_id=outcome.request.id, approve=True, actor="staff:hall", clock=BEFORE_DEADLINE
        )
    notes = list(
        await session.scalars(select(OutboxMessage.text).where(OutboxMessage.kind == "service_request"))
    )
    assert any("未通过审核：房屋有人居住" in text for text in notes)
