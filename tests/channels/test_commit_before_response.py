"""A 2xx means it is stored: the request's transaction commits before the response is sent.

FastAPI ends a ``yield`` dependency *after* the response by default. With the session dependency
committing there, a resident who posted right after "201 session opened" could be told "会话不存在
或令牌无效" (the season-start surge hit it), and a commit failing after the 201 lost what the
client was told was accepted. The test watches the raw ASGI exchange: when the response body
leaves the app, another connection must already see the row.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from tools.conversations.models import Conversation


async def _call(app: Any, path: str, body: dict[str, Any], on_body: Any) -> int:
    payload = json.dumps(body).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"test"), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 50000),
        "server": ("test", 80),
    }
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": payload, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body" and message.get("body"):
            await on_body(json.loads(message["body"]))

    await app(scope, receive, send)
    return status


async def test_an_opened_chat_session_is_committed_before_its_201_is_sent(demo_app, sessions) -> None:
    seen: list[bool] = []

    async def on_body(data: dict[str, Any]) -> None:
        async with sessions() as other:  # a second connection, as the resident's next request
            found = await other.scalar(select(Conversation.id).where(Conversation.id == data["session_id"]))
        seen.append(found is not None)

    status = await _call(demo_app, "/api/v1/chat/sessions", {"channel": "web"}, on_body)
    assert status == 201 and seen == [True]
