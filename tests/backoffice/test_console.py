"""The console page's own API: role-aware bootstrap, stream tickets, my conversations, KB drafts."""

from datetime import timedelta

import httpx
import pytest

from tests.browser import served_demo  # noqa: F401  (pytest fixture)

AGENT = ("agent1", "warmline-agent")
SUPERVISOR = ("supervisor", "warmline-super")
ADMIN = ("admin", "warmline-admin")
WORKER = ("w001", "warmline-worker")


async def _login(client: httpx.AsyncClient, who: tuple[str, str]) -> dict[str, str]:
    response = await client.post("/api/v1/auth/login", json={"username": who[0], "password": who[1]})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def _handed_off(client: httpx.AsyncClient, text: str = "转人工！暖气三天不热了，屋里才15度") -> str:
    opened = (
        await client.post(
            "/api/v1/chat/sessions",
            json={"channel": "web", "account_no": "2026010001", "phone_last4": "0001"},
        )
    ).json()
    reply = await client.post(
        f"/api/v1/chat/sessions/{opened['session_id']}/messages",
        json={"text": text},
        headers={"Authorization": f"Bearer {opened['token']}"},
    )
    assert reply.json()["handoff"] is True
    return opened["session_id"]


async def test_the_console_page_and_its_assets_are_served_under_a_strict_csp(client) -> None:
    page = await client.get("/console")
    assert page.status_code == 200 and "暖线坐席台" in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    for name in ("console.js", "console-tabs.js", "console.css"):
        asset = await client.get(f"/console/static/{name}")
        assert asset.status_code == 200 and len(asset.text) > 500
    assert (await client.get("/console/static/..%2Fpages.py")).status_code == 404
    assert (await client.get("/console/static/secret_key")).status_code == 404


async def test_the_console_never_puts_resident_text_into_html() -> None:
    from backoffice.pages import STATIC

    for name in ("console.js", "console-tabs.js"):
        source = (STATIC / name).read_text(encoding="utf-8")
        for sink in (".innerHTML", ".outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in source, f"{name} uses {sink}"


@pytest.mark.parametrize(
    ("who", "tabs"),
    [
        (AGENT, ["conversations", "tickets"]),
        (SUPERVISOR, ["conversations", "tickets", "dashboard", "quality", "kb"]),
        (ADMIN, ["conversations", "tickets", "dashboard", "quality", "kb"]),
    ],
)
async def test_bootstrap_offers_only_the_tabs_a_role_may_use(client, who, tabs) -> None:
    boot = (
        await client.get("/api/v1/backoffice/console/bootstrap", headers=await _login(client, who))
    ).json()
    assert boot["tabs"] == tabs
    assert boot["now"].startswith("2026-11-22T02:00")  # the server's clock, not the desk PC's
    assert "GET /api/v1/backoffice/conversations" in boot["endpoints"]["conversations"]
    assert all(entry.split(" ")[0] in ("GET", "POST") for tab in tabs for entry in boot["endpoints"][tab])
    assert len(boot["canned_replies"]) >= 5
    assert boot["field_names"]["escalation_rate"] == "转人工率"  # the dashboard's own Chinese names


def test_a_tab_whose_api_is_not_served_is_not_offered() -> None:
    from fastapi import FastAPI

    from backoffice.routes import console

    bare = FastAPI()
    bare.include_router(console.router)
    assert console._served(bare, ("/api/v1/backoffice/tickets",)) == []
    probe = console._served(bare, ("/api/v1/backoffice/console",))
    assert "POST /api/v1/backoffice/console/stream-ticket" in probe


async def test_a_repair_worker_gets_no_console(client) -> None:
    response = await client.get("/api/v1/backoffice/console/bootstrap", headers=await _login(client, WORKER))
    assert response.status_code == 403


async def test_a_stream_ticket_opens_only_the_stream_and_only_for_a_minute(client, clock) -> None:
    agent = await _login(client, AGENT)
    ticket = (await client.post("/api/v1/backoffice/console/stream-ticket", headers=agent)).json()
    assert ticket["expires_in"] == 60
    as_bearer = await client.get(
        "/api/v1/backoffice/conversations", headers={"Authorization": f"Bearer {ticket['ticket']}"}
    )
    assert as_bearer.status_code == 401
    bearer_in_url = await client.get(
        "/api/v1/backoffice/console/events", params={"ticket": agent["Authorization"].split()[1]}
    )
    assert bearer_in_url.status_code == 401
    assert (
        await client.get("/api/v1/backoffice/console/events", params={"ticket": "x.y.z"})
    ).status_code == 401
    assert (await client.post("/api/v1/backoffice/console/stream-ticket")).status_code == 401
    clock.advance(timedelta(seconds=61))
    expired = await client.get("/api/v1/backoffice/console/events", params={"ticket": ticket["ticket"]})
    assert expired.status_code == 401 and expired.json()["error"]["message"] == "实时连接已失效，请刷新页面"


def test_a_valid_ticket_streams_the_queue_live_over_http(served_demo) -> None:  # noqa: F811
    with httpx.Client(base_url=served_demo.url, timeout=20) as http:
        token = http.post("/api/v1/auth/login", json={"username": "agent1", "password": "warmline-agent"})
        headers = {"Authorization": f"Bearer {token.json()['token']}"}
        ticket = http.post("/api/v1/backoffice/console/stream-ticket", headers=headers).json()["ticket"]
        opened = http.post("/api/v1/chat/sessions", json={"channel": "web"}).json()
        with http.stream("GET", "/api/v1/backoffice/console/events", params={"ticket": ticket}) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.iter_lines()
            assert next(line for line in lines if line.startswith("event:")) == "event: ready"
            http.post(
                f"/api/v1/chat/sessions/{opened['session_id']}/messages",
                json={"text": "转人工"},
                headers={"Authorization": f"Bearer {opened['token']}"},
            )
            events = []
            for line in lines:
                if line.startswith("event:"):
                    events.append(line.removeprefix("event:").strip())
                if line.startswith("data:") and opened["session_id"] in line and "handoff" in events:
                    break
            assert events[:2] == ["message", "handoff"]


async def test_my_conversations_lists_what_i_took_over_and_not_what_a_colleague_did(client) -> None:
    conversation_id = await _handed_off(client)
    agent1, agent2 = await _login(client, AGENT), await _login(client, ("agent2", "warmline-agent"))
    base = "/api/v1/backoffice"
    assert (
        await client.post(f"{base}/conversations/{conversation_id}/take-over", headers=agent1)
    ).status_code == 200
    mine = (await client.get(f"{base}/console/mine", headers=agent1)).json()
    assert [card["id"] for card in mine] == [conversation_id]
    assert mine[0]["resident"]["phone"].startswith("139****") or "****" in mine[0]["resident"]["phone"]
    assert (await client.get(f"{base}/console/mine", headers=agent2)).json() == []
    queue = (await client.get(f"{base}/conversations", headers=agent2)).json()
    assert conversation_id not in {card["id"] for card in queue}


async def test_reply_drafts_come_from_resident_facing_knowledge_for_the_last_message(client) -> None:
    conversation_id = await _handed_off(client, "转人工，暖气不热怎么办，需要放气吗")
    agent = await _login(client, AGENT)
    hits = (
        await client.get(
            f"/api/v1/backoffice/console/conversations/{conversation_id}/suggestions", headers=agent
        )
    ).json()
    assert 1 <= len(hits) <= 3
    assert all(hit["title"] and hit["text"] for hit in hits)
    assert all("内部" not in hit["title"] for hit in hits)  # staff-only documents never become replies
    missing = await client.get("/api/v1/backoffice/console/conversations/nope/suggestions", headers=agent)
    assert missing.status_code == 404
