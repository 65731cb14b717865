"""The agent's create_repair_ticket dispatches at once when it can, and stands alone when it cannot."""

import json

from sqlalchemy import select

from tests.tools.crm.factories import make_account
from tests.tools.dispatch.factories import make_worker
from tools.context import ResidentContext, ToolDeps, make_tool_config
from tools.dispatch.visits import todays_visits
from tools.tickets.models import Ticket
from tools.tickets.service import transition
from tools.tickets.tools import create_repair_ticket


async def _report(sessions, clock, settings, *, with_worker: bool, call_id: str = "call-1") -> dict:
    async with sessions() as session, session.begin():
        account = await make_account(session)
        if with_worker:
            await make_worker(session, name="王建国")
    deps = ToolDeps(settings=settings, clock=clock, sessions=sessions)
    config = make_tool_config(ResidentContext(channel="web", account_id=account.id), deps)
    call = {
        "type": "tool_call",
        "id": call_id,
        "name": "create_repair_ticket",
        "args": {"category": "no_heat", "description": "全屋不热"},
    }
    message = await create_repair_ticket.ainvoke(call, config=config)
    return json.loads(message.content)


async def test_a_new_ticket_gets_a_worker_and_window_in_the_reply(sessions, clock, settings) -> None:
    result = await _report(sessions, clock, settings, with_worker=True)
    assert result["ticket"]["status"] == "已派工"
    assert result["ticket"]["eta_text"] == "已派王建国师傅上门，预计上门时段：11月22日 10:00-12:00。"


async def test_without_a_worker_the_ticket_stays_accepted(sessions, clock, settings) -> None:
    result = await _report(sessions, clock, settings, with_worker=False)
    assert result["ticket"]["status"] == "已受理" and result["ticket"]["eta_text"] == ""
    assert "小时内上门" in result["ticket"]["sla_text"]


async def test_auto_dispatch_can_be_switched_off(sessions, clock, settings) -> None:
    settings.auto_dispatch = False
    result = await _report(sessions, clock, settings, with_worker=True)
    assert result["ticket"]["status"] == "已受理"


async def test_a_cancelled_ticket_leaves_the_workers_route(sessions, clock, settings) -> None:
    await _report(sessions, clock, settings, with_worker=True)
    async with sessions() as session, session.begin():
        ticket = await session.scalar(select(Ticket))
        assert len(await todays_visits(session, worker_id=ticket.worker_id)) == 1
        await transition(session, ticket, "已取消", clock=clock, message="住户取消", actor="resident")
        assert await todays_visits(session, worker_id=ticket.worker_id) == []
