"""Back-office tickets and dispatch through HTTP: masking, roles, reassign, transitions, SLA, board."""

from datetime import timedelta

from tests.backoffice.dispatch_helpers import dispatch_to, login, open_ticket

TICKETS = "/api/v1/backoffice/tickets"


async def test_agents_list_and_filter_tickets_with_personal_data_masked(
    client, sessions, clock, settings
) -> None:
    leak = await open_ticket(sessions, clock, settings, category="leak", urgency="emergency")
    await open_ticket(sessions, clock, settings, account_no="2026010003")
    agent = await login(client, "agent1")
    page = (await client.get(TICKETS, params={"urgency": "emergency"}, headers=agent)).json()
    assert page["total"] == 1 and page["items"][0]["ticket_no"] == leak
    card = page["items"][0]
    assert card["contact_phone"] == "139****0001" and "501" not in card["address"]
    assert (await client.get(TICKETS, params={"community": "锦绣花园"}, headers=agent)).json()["total"] == 2
    assert (await client.get(TICKETS, params={"community": "幸福里"}, headers=agent)).json()["total"] == 0
    detail = (await client.get(f"{TICKETS}/{leak}", headers=agent)).json()
    assert detail["timeline"][0]["status"] == "已受理" and "13912340001" not in detail["description"]
    assert (await client.get(TICKETS, params={"urgency": "urgent!"}, headers=agent)).status_code == 422


async def test_a_worker_cannot_list_all_tickets(client) -> None:
    worker = await login(client, "w001")
    assert (await client.get(TICKETS, headers=worker)).status_code == 403
    assert (await client.get("/api/v1/backoffice/dispatch/board", headers=worker)).status_code == 403


async def test_dispatch_shows_the_eta_on_the_timeline_and_the_board(
    client, sessions, clock, settings
) -> None:
    ticket_no = await open_ticket(sessions, clock, settings)
    result = await dispatch_to(client, ticket_no, "W001")
    assert result["worker_name"] == "王建国" and result["plan_method"] == "ortools"
    agent = await login(client, "agent1")
    detail = (await client.get(f"{TICKETS}/{ticket_no}", headers=agent)).json()
    last = detail["timeline"][-1]
    assert last["status"] == "已派工" and last["worker_name"] == "王建国" and last["eta_start"]
    board = (await client.get("/api/v1/backoffice/dispatch/board", headers=agent)).json()
    row = next(r for r in board if r["worker_code"] == "W001")
    assert row["on_shift"] and [v["ticket_no"] for v in row["visits"]] == [ticket_no]
    assert "501" not in row["visits"][0]["address"] and row["visits"][0]["eta_end"]


async def test_an_agent_cannot_reassign_but_a_supervisor_can(client, sessions, clock, settings) -> None:
    ticket_no = await open_ticket(sessions, clock, settings)
    await dispatch_to(client, ticket_no, "W001")
    body = {"worker_code": "W002", "reason": "王师傅临时请假"}
    agent = await login(client, "agent1")
    assert (await client.post(f"{TICKETS}/{ticket_no}/reassign", json=body, headers=agent)).status_code == 403
    supervisor = await login(client, "supervisor")
    moved = await client.post(f"{TICKETS}/{ticket_no}/reassign", json=body, headers=supervisor)
    assert moved.status_code == 200, moved.text
    assert moved.json()["worker_code"] == "W002"
    worker2 = await login(client, "w002")
    route = (await client.get("/api/v1/worker/route", headers=worker2)).json()["visits"]
    assert [v["ticket_no"] for v in route] == [ticket_no]
    assert (await client.get("/api/v1/worker/route", headers=await login(client, "w001"))).json()[
        "visits"
    ] == []


async def test_manual_transitions_follow_the_lifecycle(client, sessions, clock, settings) -> None:
    ticket_no = await open_ticket(sessions, clock, settings)
    agent = await login(client, "agent1")
    illegal = await client.post(
        f"{TICKETS}/{ticket_no}/transition", json={"status": "已完成", "reason": "住户说好了"}, headers=agent
    )
    assert illegal.status_code == 409 and illegal.json()["error"]["code"] == "illegal_transition"
    cancel = await client.post(
        f"{TICKETS}/{ticket_no}/transition",
        json={"status": "已取消", "reason": "住户来电取消"},
        headers=agent,
    )
    assert cancel.status_code == 200 and cancel.json()["status"] == "已取消"
    again = await client.post(f"{TICKETS}/{ticket_no}/dispatch", json={}, headers=agent)
    assert again.status_code == 409


async def test_sla_breaches_and_bulk_dispatch(client, sessions, clock, settings) -> None:
    late = await open_ticket(sessions, clock, settings, category="leak", urgency="emergency")
    clock.advance(timedelta(minutes=61))
    agent = await login(client, "agent1")
    sla = (await client.get("/api/v1/backoffice/sla/breaches", headers=agent)).json()
    assert [t["ticket_no"] for t in sla["breached"]] == [late] and sla["breached"][0]["breached"]
    breached = (await client.get(TICKETS, params={"breached": "true"}, headers=agent)).json()
    assert [t["ticket_no"] for t in breached["items"]] == [late]
    assert (await client.post("/api/v1/backoffice/dispatch/run", headers=agent)).status_code == 403
    run = await client.post("/api/v1/backoffice/dispatch/run", headers=await login(client, "supervisor"))
    assert run.status_code == 200 and run.json()["assigned"] == 1


async def test_building_alerts_list_linked_tickets_and_resolve_once(
    client, sessions, clock, settings
) -> None:
    for account_no in ("2026010001", "2026010002", "2026010008"):  # three flats of 锦绣花园3号楼
        await open_ticket(sessions, clock, settings, account_no=account_no)
    agent = await login(client, "agent1")
    alerts = (await client.get("/api/v1/backoffice/alerts", headers=agent)).json()
    assert len(alerts) == 1 and alerts[0]["building"] == "锦绣花园3号楼" and len(alerts[0]["tickets"]) == 3
    url = f"/api/v1/backoffice/alerts/{alerts[0]['id']}/resolve"
    assert (await client.post(url, json={"note": "单元阀门已更换"}, headers=agent)).status_code == 403
    supervisor = await login(client, "supervisor")
    assert (await client.post(url, json={"note": "单元阀门已更换"}, headers=supervisor)).status_code == 200
    assert (await client.post(url, json={}, headers=supervisor)).status_code == 409
    assert (await client.get("/api/v1/backoffice/alerts", headers=agent)).json() == []
