"""What the console's ticket actions rely on: internal notes residents never see, the statuses a
ticket may move to by hand, and dispatch-owned steps refused outside 派单 / 改派."""

from __future__ import annotations

from sqlalchemy import func, select

from backoffice.pages import STATIC
from channels.chat.tracking import signature, track
from tests.backoffice.dispatch_helpers import dispatch_to, login, open_ticket
from tools.outbox import OutboxMessage
from tools.tickets.models import Ticket
from tools.tickets.tools import ticket_view

TICKETS = "/api/v1/backoffice/tickets"
NOTE = "住户家中有卧床老人，上门前先电话联系"


async def _outbox_count(sessions) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(OutboxMessage)))


async def test_an_internal_note_is_on_the_staff_timeline_but_never_reaches_the_resident(
    client, sessions, clock, settings
) -> None:
    ticket_no = await open_ticket(sessions, clock, settings)
    agent = await login(client, "agent1")
    async with sessions() as session:
        ticket = await session.scalar(select(Ticket).where(Ticket.ticket_no == ticket_no))
        before = await signature(session, account_id=ticket.account_id)
    queued = await _outbox_count(sessions)

    added = await client.post(f"{TICKETS}/{ticket_no}/notes", json={"text": f"  {NOTE}  "}, headers=agent)
    assert added.status_code == 201, added.text
    assert added.json()["kind"] == "internal" and added.json()["message"] == NOTE
    detail = (await client.get(f"{TICKETS}/{ticket_no}", headers=agent)).json()
    assert [e["message"] for e in detail["timeline"] if e["kind"] == "internal"] == [NOTE]

    assert await _outbox_count(sessions) == queued  # nothing sent to the resident
    async with sessions() as session:
        ticket = await session.scalar(select(Ticket).where(Ticket.ticket_no == ticket_no))
        await session.refresh(ticket, ["events"])
        assert NOTE not in str(ticket_view(ticket)) and NOTE not in track(ticket).model_dump_json()
        assert await signature(session, account_id=ticket.account_id) == before  # no live push either

    for bad in ({"text": "   "}, {"text": ""}, {"text": "x" * 1001}, {}):
        response = await client.post(f"{TICKETS}/{ticket_no}/notes", json=bad, headers=agent)
        assert response.status_code == 422, bad
    assert (await client.post(f"{TICKETS}/NOPE/notes", json={"text": NOTE}, headers=agent)).status_code == 404
    worker = await login(client, "w001")
    assert (
        await client.post(f"{TICKETS}/{ticket_no}/notes", json={"text": NOTE}, headers=worker)
    ).status_code == 403


async def test_the_detail_offers_only_manual_steps_and_dispatch_steps_need_dispatch(
    client, sessions, clock, settings
) -> None:
    ticket_no = await open_ticket(sessions, clock, settings)
    agent = await login(client, "agent1")
    detail = (await client.get(f"{TICKETS}/{ticket_no}", headers=agent)).json()
    assert detail["next_statuses"] == ["已取消"] and detail["worker_code"] is None
    manual = await client.post(
        f"{TICKETS}/{ticket_no}/transition", json={"status": "已派工", "reason": "手动派工"}, headers=agent
    )
    assert manual.status_code == 409 and manual.json()["error"]["code"] == "use_dispatch"

    await dispatch_to(client, ticket_no, "W001")
    detail = (await client.get(f"{TICKETS}/{ticket_no}", headers=agent)).json()
    assert detail["status"] == "已派工" and (detail["worker_code"], detail["worker_name"]) == (
        "W001",
        "王建国",
    )
    assert detail["next_statuses"] == ["师傅已出发", "已取消"]
    back = await client.post(
        f"{TICKETS}/{ticket_no}/transition", json={"status": "已受理", "reason": "退回重派"}, headers=agent
    )
    assert back.status_code == 409 and back.json()["error"]["code"] == "use_dispatch"
    gone = await client.post(
        f"{TICKETS}/{ticket_no}/transition",
        json={"status": "师傅已出发", "reason": "师傅电话确认已出发"},
        headers=agent,
    )
    assert gone.status_code == 200 and gone.json()["status"] == "师傅已出发"


def test_the_action_script_never_puts_text_into_html() -> None:
    source = (STATIC / "console-actions.js").read_text(encoding="utf-8")
    for sink in (".innerHTML", ".outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in source


async def test_the_action_script_is_served_with_the_console(client) -> None:
    page = await client.get("/console")
    assert "/console/static/console-actions.js" in page.text
    script = await client.get("/console/static/console-actions.js")
    assert script.status_code == 200 and "warmlineActions" in script.text
    assert "script-src 'self'" in script.headers["content-security-policy"]
