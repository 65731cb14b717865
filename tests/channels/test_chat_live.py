"""Streaming replies, the live event stream, ticket tracking and photo uploads of the chat API."""

import asyncio
import json

import httpx
from sqlalchemy import select

from channels.chat.streams import live_events, pieces
from tools.conversations.models import Message
from tools.tickets.models import TicketAttachment

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def _open(client: httpx.AsyncClient, prefix: str = "/api/v1/chat", **body) -> tuple[str, dict, dict]:
    response = await client.post(f"{prefix}/sessions", json={"channel": "web", **body})
    assert response.status_code == 201, response.text
    data = response.json()
    return data["session_id"], {"Authorization": f"Bearer {data['token']}"}, data


def _frames(raw: str) -> list[tuple[str, dict]]:
    out = []
    for block in raw.replace("\r\n", "\n").split("\n\n"):
        lines = block.strip().splitlines()
        name = next((line[6:].strip() for line in lines if line.startswith("event:")), "message")
        data = [line[5:].strip() for line in lines if line.startswith("data:")]
        if data:
            out.append((name, json.loads("\n".join(data))))
    return out


async def _bound_ticket(client) -> tuple[str, dict, str]:
    session_id, headers, _ = await _open(client, account_no="2026010001", phone_last4="0001")
    reply = await client.post(
        f"/api/v1/chat/sessions/{session_id}/messages",
        json={"text": "家里暖气管爆了，水淹了！"},
        headers=headers,
    )
    return session_id, headers, reply.json()["ticket"]["ticket_no"]


def test_reply_pieces_join_back_to_the_exact_text() -> None:
    text = "您好！请先检查阀门是否全开。\n如果还是不热，我可以为您报修" + "很长" * 30
    parts = pieces(text, size=10)
    assert "".join(parts) == text and max(len(p) for p in parts) <= 10 and len(parts) > 3


async def test_streamed_reply_sends_typing_then_pieces_then_the_full_answer(client) -> None:
    session_id, headers, _ = await _open(client)
    response = await client.post(
        f"/api/v1/chat/sessions/{session_id}/messages/stream",
        json={"text": "暖气费多少钱一平"},
        headers=headers,
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    frames = _frames(response.text)
    names = [name for name, _ in frames]
    assert names[0] == "typing" and names[-1] == "done" and "delta" in names
    done = frames[-1][1]
    assert "".join(d["text"] for n, d in frames if n == "delta") == done["reply"]
    assert done["classification"]["category"] == "billing" and "26.00" in done["reply"]


async def test_streamed_reply_checks_the_token_before_streaming(client) -> None:
    session_id, _, _ = await _open(client)
    response = await client.post(
        f"/api/v1/chat/sessions/{session_id}/messages/stream",
        json={"text": "你好"},
        headers={"Authorization": "Bearer forged"},
    )
    assert response.status_code == 401


async def test_live_stream_forwards_agent_events_and_ticket_progress_only(client, demo_app) -> None:
    session_id, headers, opened = await _open(client, account_no="2026010001", phone_last4="0001")
    bus = demo_app.state.events
    services = demo_app.state.services
    stream = live_events(
        bus=bus,
        conversation_id=session_id,
        account_id=opened["resident"]["account_id"],
        sessions=services.sessions,
        poll_s=0.05,
        ready={"owner": "bot"},
        is_disconnected=lambda: asyncio.sleep(0, result=False),
    )
    name, ready = (await anext(stream)).values()
    assert name == "ready" and json.loads(ready) == {"owner": "bot"}
    topic = f"conversation:{session_id}"
    await bus.publish(
        topic, {"type": "message", "sender": "bot", "text": "机器人自己的话", "message_id": "b1"}
    )
    await bus.publish(topic, {"type": "agent_joined", "agent": "客服小王"})
    await bus.publish(
        topic, {"type": "message", "sender": "agent", "text": "您好，我来处理", "message_id": "a1"}
    )
    got = [await asyncio.wait_for(anext(stream), 5) for _ in range(2)]
    assert [g["event"] for g in got] == ["agent_joined", "message"]
    assert json.loads(got[0]["data"]) == {"agent_name": "客服小王"}
    assert json.loads(got[1]["data"])["text"] == "您好，我来处理"

    reply = await client.post(
        f"/api/v1/chat/sessions/{session_id}/messages",
        json={"text": "家里暖气管爆了，水淹了！"},
        headers=headers,
    )
    number = reply.json()["ticket"]["ticket_no"]
    for _ in range(20):
        item = await asyncio.wait_for(anext(stream), 5)
        if item["event"] == "ticket":
            break
    ticket = json.loads(item["data"])
    assert ticket["ticket_no"] == number and ticket["steps"]
    await stream.aclose()


async def test_ticket_tracking_shows_stages_steps_and_only_the_own_account(client) -> None:
    session_id, headers, number = await _bound_ticket(client)
    tickets = (await client.get(f"/api/v1/chat/sessions/{session_id}/tickets", headers=headers)).json()
    assert tickets[0]["ticket_no"] == number
    assert tickets[0]["stages"][0] == "已受理" and tickets[0]["stage_index"] >= 0
    assert tickets[0]["steps"][0]["status"] == "已受理"
    one = await client.get(f"/api/v1/chat/sessions/{session_id}/tickets/{number}", headers=headers)
    assert one.status_code == 200 and one.json()["category_name"] == "漏水"

    other, other_headers, _ = await _open(client)
    assert (await client.get(f"/api/v1/chat/sessions/{other}/tickets", headers=other_headers)).json() == []
    peek = await client.get(f"/api/v1/chat/sessions/{other}/tickets/{number}", headers=other_headers)
    assert peek.status_code == 404
    stolen = await client.get(f"/api/v1/chat/sessions/{session_id}/tickets", headers=other_headers)
    assert stolen.status_code == 401


async def test_a_photo_is_attached_to_the_open_ticket_and_noted_in_the_chat(client, sessions) -> None:
    session_id, headers, number = await _bound_ticket(client)
    response = await client.post(
        f"/api/v1/chat/sessions/{session_id}/attachments",
        files={"file": ("暖气片.png", PNG, "image/png")},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    assert response.json()["ticket_no"] == number and response.json()["content_type"] == "image/png"
    async with sessions() as session:
        attachment = await session.scalar(select(TicketAttachment))
        note = await session.scalar(select(Message).where(Message.text.like("[图片]%")))
    assert attachment.size == len(PNG) and attachment.path.startswith(session_id)
    assert note.meta["attachments"] == [attachment.path]
    track = (await client.get(f"/api/v1/chat/sessions/{session_id}/tickets/{number}", headers=headers)).json()
    assert track["photos"] == 1


async def test_bad_uploads_are_refused_with_a_4xx(client, settings) -> None:
    session_id, headers, _ = await _open(client)
    url = f"/api/v1/chat/sessions/{session_id}/attachments"
    script = await client.post(
        url, files={"file": ("x.jpg", b"<script>alert(1)</script>", "image/jpeg")}, headers=headers
    )
    assert script.status_code == 415 and "JPG" in script.json()["error"]["message"]
    empty = await client.post(url, files={"file": ("x.png", b"", "image/png")}, headers=headers)
    assert empty.status_code == 415
    big = PNG + b"\x00" * settings.upload_max_bytes
    too_big = await client.post(url, files={"file": ("x.png", big, "image/png")}, headers=headers)
    assert too_big.status_code == 413
    missing = await client.post(url, headers=headers)
    assert missing.status_code == 422
    anonymous_ticket = await client.post(
        url, files={"file": ("x.png", PNG, "image/png")}, data={"ticket_no": "BX1"}, headers=headers
    )
    assert anonymous_ticket.status_code == 404
    unauthorised = await client.post(url, files={"file": ("x.png", PNG, "image/png")})
    assert unauthorised.status_code == 401


async def test_the_widget_loads_its_stylesheet_and_never_parses_text_as_html(client) -> None:
    script = (await client.get("/widget.js")).text
    css = await client.get("/widget.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "@media (max-width:480px)" in css.text and "/widget.css" in script
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script, sink
    assert "sessionStorage" in script and "localStorage" not in script
