"""The agent console working a conversation the bot handed off, through the public APIs."""

import asyncio

import httpx


async def _staff_headers(client: httpx.AsyncClient, username: str, password: str) -> dict[str, str]:
    response = await client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def _resident_asks_for_a_human(client: httpx.AsyncClient) -> tuple[str, dict[str, str]]:
    opened = await client.post(
        "/api/v1/chat/sessions", json={"channel": "web", "account_no": "2026010001", "phone_last4": "0001"}
    )
    data = opened.json()
    headers = {"Authorization": f"Bearer {data['token']}"}
    reply = await client.post(
        f"/api/v1/chat/sessions/{data['session_id']}/messages",
        json={"text": "转人工！我电话13912340001，暖气三天不热了"},
        headers=headers,
    )
    assert reply.json()["handoff"] is True
    return data["session_id"], headers


async def test_a_handed_off_conversation_waits_in_the_queue_with_a_masked_summary(client) -> None:
    session_id, _ = await _resident_asks_for_a_human(client)
    agent = await _staff_headers(client, "agent1", "warmline-agent")
    queue = (await client.get("/api/v1/backoffice/conversations", headers=agent)).json()
    card = next(item for item in queue if item["id"] == session_id)
    assert card["resident"]["phone"] == "139****0001"
    assert "13912340001" not in card["handoff_summary"] and "住户要求转人工" in card["handoff_summary"]
    detail = (await client.get(f"/api/v1/backoffice/conversations/{session_id}", headers=agent)).json()
    assert all("13912340001" not in m["text"] for m in detail["messages"])


async def test_one_of_many_agents_wins_the_take_over(client) -> None:
    session_id, _ = await _resident_asks_for_a_human(client)
    agents = [await _staff_headers(client, name, "warmline-agent") for name in ("agent1", "agent2")]
    results = await asyncio.gather(
        *(
            client.post(f"/api/v1/backoffice/conversations/{session_id}/take-over", headers=h)
            for h in agents * 3
        )
    )
    codes = sorted(r.status_code for r in results)
    winners = {r.json()["owner"] for r in results if r.status_code == 200}
    assert len(winners) == 1 and set(codes) <= {200, 409} and 409 in codes


async def test_while_an_agent_owns_it_the_bot_is_silent_and_the_resident_reads_the_agent(client) -> None:
    session_id, resident = await _resident_asks_for_a_human(client)
    agent = await _staff_headers(client, "agent1", "warmline-agent")
    other = await _staff_headers(client, "agent2", "warmline-agent")
    base = f"/api/v1/backoffice/conversations/{session_id}"
    assert (await client.post(f"{base}/reply", json={"text": "您好"}, headers=agent)).status_code == 403
    assert (await client.post(f"{base}/take-over", headers=agent)).status_code == 200
    assert (await client.post(f"{base}/reply", json={"text": "抢"}, headers=other)).status_code == 403
    sent = await client.post(
        f"{base}/reply", json={"text": "您好，我是客服小李，马上为您安排师傅。"}, headers=agent
    )
    assert sent.status_code == 200
    await client.post(f"{base}/notes", json={"text": "老人独居，优先派单"}, headers=agent)
    silent = await client.post(
        f"/api/v1/chat/sessions/{session_id}/messages", json={"text": "好的谢谢"}, headers=resident
    )
    assert silent.json()["reply"] is None
    history = (await client.get(f"/api/v1/chat/sessions/{session_id}/messages", headers=resident)).json()
    texts = [m["text"] for m in history]
    assert "您好，我是客服小李，马上为您安排师傅。" in texts and "老人独居，优先派单" not in texts
    assert (await client.post(f"{base}/hand-back", headers=agent)).status_code == 200
    back = await client.post(
        f"/api/v1/chat/sessions/{session_id}/messages", json={"text": "什么时候供暖"}, headers=resident
    )
    assert back.json()["reply"]


async def test_workers_cannot_open_the_console(client) -> None:
    worker = await _staff_headers(client, "w001", "warmline-worker")
    assert (await client.get("/api/v1/backoffice/conversations", headers=worker)).status_code == 403
