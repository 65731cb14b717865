from datetime import timedelta
from itertools import product

import pytest
from sqlalchemy import select

from tests.tools.crm.factories import make_account
from tools.audit import AuditLog
from tools.errors import Conflict
from tools.outbox import OutboxMessage
from tools.tickets.lifecycle import TRANSITIONS, check_transition
from tools.tickets.service import create_or_attach, transition


def test_every_pair_outside_the_table_is_refused() -> None:
    for current, target in product(TRANSITIONS, TRANSITIONS):
        if target in TRANSITIONS[current]:
            check_transition(current, target)
        else:
            with pytest.raises(Conflict):
                check_transition(current, target)


async def _report(session, clock, settings, account, category="no_heat", urgency="normal"):
    return await create_or_attach(
        session,
        account_id=account.id,
        category=category,
        urgency=urgency,
        description="全屋不热",
        clock=clock,
        settings=settings,
    )


async def test_a_ticket_gets_a_number_sla_timeline_and_notification(session, clock, settings) -> None:
    account = await make_account(session)
    outcome = await _report(session, clock, settings, account, category="leak", urgency="emergency")
    ticket = outcome.ticket
    assert ticket.ticket_no == "BX202611220001" and ticket.status == "已受理"
    assert ticket.sla_due_at == clock.now() + timedelta(minutes=60)
    await session.refresh(ticket, ["events"])
    assert "1小时内到场" in ticket.events[0].message
    assert await session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "ticket_progress"))


async def test_a_repeat_report_attaches_to_the_open_ticket(session, clock, settings) -> None:
    account = await make_account(session)
    first = await _report(session, clock, settings, account)
    second = await _report(session, clock, settings, account, urgency="high")
    assert second.duplicate and second.ticket.id == first.ticket.id
    assert second.ticket.duplicate_reports == 1 and second.ticket.urgency == "high"
    await transition(session, first.ticket, "已取消", clock=clock, message="住户取消")
    third = await _report(session, clock, settings, account)
    assert not third.duplicate and third.ticket.id != first.ticket.id


async def test_vulnerable_residents_without_heat_are_at_least_high(session, clock, settings) -> None:
    account = await make_account(session, tags=["独居老人"])
    assert (await _report(session, clock, settings, account)).ticket.urgency == "high"


async def test_building_alert_at_the_threshold_not_before(session, clock, settings) -> None:
    accounts = [await make_account(session, phone=f"1391234{n:04d}") for n in range(3)]
    assert (await _report(session, clock, settings, accounts[0])).incident is None
    clock.advance(timedelta(minutes=30))
    assert (await _report(session, clock, settings, accounts[1])).incident is None
    clock.advance(timedelta(minutes=30))
    incident = (await _report(session, clock, settings, accounts[2])).incident
    assert incident is not None and incident.report_count == 3
    alert = await session.scalar(select(AuditLog).where(AuditLog.action == "building_alert"))
    assert alert.details["accounts"] == 3


async def test_reports_outside_the_window_do_not_add_up(session, clock, settings) -> None:
    accounts = [await make_account(session, phone=f"1391235{n:04d}") for n in range(3)]
    for account in accounts:
        assert (await _report(session, clock, settings, account)).incident is None
        clock.advance(timedelta(hours=1, minutes=1))
