"""SLA watch: breaches and near misses of the on-site due time, alerted once per ticket."""

from datetime import timedelta

from sqlalchemy import select

from tests.tools.dispatch.factories import make_ticket
from tools.audit import AuditLog
from tools.tickets.service import transition
from tools.tickets.sla import scan_sla


async def _alerts(session, action):
    return list(await session.scalars(select(AuditLog).where(AuditLog.action == action)))


async def test_a_breach_is_alerted_once_however_often_the_scan_runs(session, clock, settings) -> None:
    ticket = await make_ticket(session, clock=clock, settings=settings, category="leak", urgency="emergency")
    clock.advance(timedelta(minutes=61))
    first = await scan_sla(session, clock=clock, settings=settings)
    second = await scan_sla(session, clock=clock, settings=settings)
    assert first.breached == [ticket.ticket_no] and not second
    alerts = await _alerts(session, "sla_breach")
    assert len(alerts) == 1 and alerts[0].target_id == ticket.id
    assert alerts[0].details["ticket_no"] == ticket.ticket_no


async def test_a_ticket_near_its_due_time_is_at_risk_first_then_breached(session, clock, settings) -> None:
    ticket = await make_ticket(session, clock=clock, settings=settings, category="leak", urgency="emergency")
    clock.advance(timedelta(minutes=40))  # due in 20 min, inside the 30-min margin
    risk = await scan_sla(session, clock=clock, settings=settings)
    assert risk.at_risk == [ticket.ticket_no] and risk.breached == []
    clock.advance(timedelta(minutes=30))
    late = await scan_sla(session, clock=clock, settings=settings)
    assert late.breached == [ticket.ticket_no] and late.at_risk == []
    assert len(await _alerts(session, "sla_at_risk")) == 1


async def test_a_worker_on_site_in_time_or_a_cancelled_ticket_is_no_breach(session, clock, settings) -> None:
    arrived = await make_ticket(session, clock=clock, settings=settings, category="leak", urgency="emergency")
    cancelled = await make_ticket(
        session, clock=clock, settings=settings, category="leak", urgency="emergency", building="5号楼"
    )
    for target in ("已派工", "师傅已出发", "已到场"):
        await transition(session, arrived, target, clock=clock, message=target)
    await transition(session, cancelled, "已取消", clock=clock, message="住户取消")
    clock.advance(timedelta(hours=2))
    assert not await scan_sla(session, clock=clock, settings=settings)
    far = await make_ticket(session, clock=clock, settings=settings, building="6号楼")  # normal: 24 h
    assert far.ticket_no not in (await scan_sla(session, clock=clock, settings=settings)).at_risk
