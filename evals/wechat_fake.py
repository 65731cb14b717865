"""A local fake of the WeChat official-account HTTP API, for tests and benchmarks.

A real HTTP server (starlette under uvicorn, in a background thread on a free 127.0.0.1 port)
implementing what Warmline calls: ``GET /cgi-bin/token``, ``POST /cgi-bin/message/custom/send``,
``POST /cgi-bin/message/template/send``, ``POST /cgi-bin/menu/create``, plus ``GET /pic/<name>``
serving a small JPEG as a stand-in for WeChat's picture CDN. Every call is recorded. It checks
access tokens like WeChat does (a stale token is errcode 40001) and can be told to fail the next
calls of an endpoint with an errcode (40001, 45015, ...) or an HTTP status (5xx)::

    with FakeWeChatApi() as api:
        settings = settings.model_copy(update={"wechat_api_base": api.base_url})
        api.fail_next("message/custom/send", errcode=45015)
        ...
        api.sent_texts()  # [(openid, content), ...]
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

# The smallest valid JPEG header and trailer: enough for content sniffing.
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"


class ThreadedServer:
    """An ASGI app served by uvicorn in a daemon thread on a free 127.0.0.1 port."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.base_url = ""
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> ThreadedServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("local fake server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)


@dataclass
class Call:
    path: str
    query: dict[str, str]
    body: dict[str, Any] | None
    at: float = field(default_factory=time.monotonic)


class FakeWeChatApi:
    def __init__(self, *, latency_s: float = 0.0) -> None:
        self.calls: list[Call] = []
        self.latency_s = latency_s
        self._failures: dict[str, list[tuple[int | None, int]]] = defaultdict(list)
        self._tokens = itertools.count(1)
        self._valid: set[str] = set()
        self._msgids = itertools.count(1000)
        self._lock = threading.Lock()
        self._server: ThreadedServer | None = None
        self.base_url = ""

    # --- control -------------------------------------------------------------------------------
    def fail_next(
        self, endpoint: str, *, errcode: int | None = None, status: int = 200, times: int = 1
    ) -> None:
        """Make the next ``times`` calls of ``endpoint`` (e.g. "message/custom/send") fail."""
        with self._lock:
            self._failures[endpoint].extend([(errcode, status)] * times)

    def expire_tokens(self) -> None:
        """Invalidate every issued token, as WeChat does when another party fetches a new one."""
        with self._lock:
            self._valid.clear()

    def of(self, endpoint: str) -> list[Call]:
        return [call for call in self.calls if call.path == endpoint]

    def sent_texts(self) -> list[tuple[str, str]]:
        """Customer-service texts WeChat accepted (failed calls excluded)."""
        return [
            (c.body["touser"], c.body["text"]["content"])
            for c in self.calls
            if c.path == "message/custom/send:ok" and c.body
        ]

    def sent_templates(self) -> list[dict[str, Any]]:
        return [c.body for c in self.calls if c.path == "message/template/send:ok" and c.body]

    # --- server --------------------------------------------------------------------------------
    def __enter__(self) -> FakeWeChatApi:
        self._server = ThreadedServer(self._app()).start()
        self.base_url = self._server.base_url
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.stop()

    def _take_failure(self, endpoint: str) -> tuple[int | None, int] | None:
        with self._lock:
            queue = self._failures.get(endpoint)
            return queue.pop(0) if queue else None

    def _app(self) -> Starlette:
        async def token(request: Request) -> Response:
            self.calls.append(Call("token", dict(request.query_params), None))
            failure = self._take_failure("token")
            if failure:
                return _fail(*failure)
            value = f"TOKEN-{next(self._tokens)}"
            with self._lock:
                self._valid.add(value)
            return JSONResponse({"access_token": value, "expires_in": 7200})

        def api(endpoint: str, result: dict[str, Any] | None = None) -> Any:
            async def handler(request: Request) -> Response:
                body = await request.json() if await request.body() else None
                query = dict(request.query_params)
                self.calls.append(Call(endpoint, query, body))
                if self.latency_s:
                    await asyncio.sleep(self.latency_s)
                failure = self._take_failure(endpoint)
                if failure:
                    return _fail(*failure)
                if query.get("access_token") not in self._valid:
                    return JSONResponse({"errcode": 40001, "errmsg": "invalid credential"})
                self.calls.append(Call(f"{endpoint}:ok", query, body))
                extra = {"msgid": next(self._msgids)} if endpoint == "message/template/send" else {}
                return JSONResponse({"errcode": 0, "errmsg": "ok", **(result or {}), **extra})

            return handler

        async def picture(request: Request) -> Response:
            self.calls.append(Call("pic", {"name": request.path_params["name"]}, None))
            return Response(JPEG, media_type="image/jpeg")

        return Starlette(
            routes=[
                Route("/cgi-bin/token", token),
                Route("/cgi-bin/message/custom/send", api("message/custom/send"), methods=["POST"]),
                Route("/cgi-bin/message/template/send", api("message/template/send"), methods=["POST"]),
                Route("/cgi-bin/menu/create", api("menu/create"), methods=["POST"]),
                Route("/pic/{name}", picture),
            ]
        )


def _fail(errcode: int | None, status: int) -> Response:
    if errcode is None:
        return Response("upstream error", status_code=status)
    messages = {40001: "invalid credential", 45015: "response out of time limit or subscription is canceled"}
    return JSONResponse({"errcode": errcode, "errmsg": messages.get(errcode, "error")}, status_code=status)
