"""Drive an ASGI app one request at a time and read only what an authorization check needs.

httpx's ASGITransport buffers the whole body, so an endless event stream (the console's queue,
a chat's live events) would never return. This driver hands the app its request, records the
status as soon as the response starts, and for an event stream says "client gone" a tenth of a
second later, so every endpoint (streams included) answers in bounded time.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

STREAM_GRACE_S = 0.1
REQUEST_TIMEOUT_S = 60.0


@dataclass
class Probe:
    status: int
    content_type: str
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


async def probe(
    app: Any,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    json_body: Any = None,
) -> Probe:
    body = b"" if json_body is None else json.dumps(json_body, ensure_ascii=False).encode()
    raw_headers = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    raw_headers.append((b"host", b"test"))
    if json_body is not None:
        raw_headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": urlencode(params or {}).encode(),
        "root_path": "",
        "headers": raw_headers,
        "client": ("127.0.0.1", 50000),
        "server": ("test", 80),
    }
    gone = asyncio.Event()
    delivered = False
    start: dict[str, Any] = {}
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            start["status"] = message["status"]
            start["type"] = dict(message.get("headers") or []).get(b"content-type", b"").decode()
            if start["type"].startswith("text/event-stream"):
                asyncio.get_running_loop().call_later(STREAM_GRACE_S, gone.set)
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                gone.set()

    try:
        await asyncio.wait_for(app(scope, receive, send), timeout=REQUEST_TIMEOUT_S)
    except Exception:
        # Starlette re-raises an unhandled error after it has sent the 500: the status is the answer.
        if "status" not in start:
            raise
    return Probe(status=start["status"], content_type=start.get("type", ""), body=b"".join(chunks))
