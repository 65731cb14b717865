"""XML bombs against both XML parsers: the official account endpoint (over HTTP) and the payment
callback's parser. Each bomb is timed, its memory measured, and a local listener watches for the
outbound request an XXE would make.

Memory is measured two ways: the process's resident set before and after (``/proc/self/statm``),
and tracemalloc's peak while the bomb is handled, which also sees a transient spike that is freed
again (pyexpat allocates through Python's allocator, so an expansion would show there).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import pyexpat
import socket
import statistics
import threading
import time
import tracemalloc
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from evals.reliability.xml_bodies import make_bombs
from tools.billing.wechat_pay import parse_notify_xml
from tools.errors import DomainError

EXPAT_MINIMUM = (2, 4, 0)  # Expat 2.4.0 added the billion-laughs amplification limit
BUDGET_MS = 200.0
BUDGET_MB = 50.0
_PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class BombResult:
    target: str
    bomb: str
    size: int
    outcome: str
    max_ms: float
    median_ms: float
    rss_growth_mb: float
    peak_alloc_mb: float
    leaked: bool  # the file's content came back, or the listener was contacted

    @property
    def ok(self) -> bool:
        refused = self.outcome.startswith("4")
        return (
            refused
            and not self.leaked
            and self.max_ms < BUDGET_MS
            and self.rss_growth_mb < BUDGET_MB
            and self.peak_alloc_mb < BUDGET_MB
        )


class Listener:
    """A TCP port that counts connections: an XXE fetch would arrive here."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * _PAGE / 2**20


@contextmanager
def _traced() -> Iterator[dict[str, float]]:
    figures: dict[str, float] = {}
    tracemalloc.start()
    try:
        yield figures
    finally:
        figures["peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()


async def _chunks(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def _query(token: str) -> dict[str, str]:
    timestamp, nonce = str(int(time.time())), uuid.uuid4().hex[:16]
    signature = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()
    return {"timestamp": timestamp, "nonce": nonce, "signature": signature}


def run_bombs(app: Any, *, token: str, repeats: int = 3) -> list[BombResult]:
    """Every bomb, ``repeats`` times, at the WeChat endpoint (plaintext mode: the signature is
    genuine, so the body reaches the parser) and at the payment parser."""
    listener = Listener()
    bombs = make_bombs(listener.url)
    results: list[BombResult] = []
    try:
        with asyncio.Runner() as runner:
            stack = AsyncExitStack()
            runner.run(stack.enter_async_context(app.router.lifespan_context(app)))
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            client = httpx.AsyncClient(transport=transport, base_url="http://test", timeout=30)
            try:
                # Warm up: the first request to a route pays for lazy imports and validator builds.
                runner.run(client.post("/wechat", params=_query(token), content=b"<xml></xml>"))
                for name, body in bombs.items():
                    variants = {"wechat": body}
                    if name == "body_10mb":
                        variants["wechat-chunked"] = body  # no Content-Length: the read must stop itself
                    for target, data in variants.items():

                        async def post(data: bytes = data, target: str = target) -> httpx.Response:
                            content: Any = _chunks(data) if target.endswith("chunked") else data
                            return await client.post("/wechat", params=_query(token), content=content)

                        results.append(
                            _measure(target, name, data, lambda post=post: runner.run(post()), repeats)
                        )
                    results.append(
                        _measure("pay-notify", name, body, lambda body=body: _parse_pay(body), repeats)
                    )
            finally:
                runner.run(client.aclose())
                runner.run(stack.aclose())
    finally:
        listener.close()
    if listener.connections:
        for result in results:
            if "xxe" in result.bomb:
                result.leaked = True
    return results


def _parse_pay(body: bytes) -> tuple[str, str]:
    try:
        parse_notify_xml(body)
    except DomainError as refused:
        return f"{refused.status_code}:{refused.code}", refused.message
    return "accepted", ""


def _measure(target: str, name: str, data: bytes, call: Any, repeats: int) -> BombResult:
    """Time ``repeats`` plain runs (tracemalloc would slow them), then one traced run for the peak."""

    def once() -> tuple[str, str]:
        answer = call()
        if isinstance(answer, httpx.Response):
            return str(answer.status_code), answer.text
        return answer

    rss_before = _rss_mb()
    timings, answers = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        answers.append(once())
        timings.append((time.perf_counter() - started) * 1000)
    with _traced() as figures:
        answers.append(once())
    outcomes = {outcome for outcome, _ in answers}
    return BombResult(
        target=target,
        bomb=name,
        size=len(data),
        outcome=outcomes.pop() if len(outcomes) == 1 else "/".join(sorted(outcomes)),
        max_ms=max(timings),
        median_ms=statistics.median(timings),
        rss_growth_mb=max(0.0, _rss_mb() - rss_before),
        peak_alloc_mb=figures["peak_mb"],
        leaked=any("root:" in text for _, text in answers),
    )


def expat_version() -> tuple[int, int, int]:
    return tuple(pyexpat.version_info)  # type: ignore[return-value]


def format_bombs(results: list[BombResult]) -> list[str]:
    version = ".".join(map(str, expat_version()))
    lines = [
        f"XML 炸弹（expat {version}；每项计时多次，预算 <{BUDGET_MS:.0f} ms、<{BUDGET_MB:.0f} MB）",
        f"  {'目标':<16}{'炸弹':<18}{'大小':>10}{'结果':>18}{'最慢ms':>9}{'中位ms':>9}"
        f"{'RSS增长MB':>11}{'峰值MB':>9}  判定",
    ]
    for r in results:
        verdict = "通过" if r.ok else "未通过"
        lines.append(
            f"  {r.target:<16}{r.bomb:<18}{r.size:>10}{r.outcome:>18}{r.max_ms:>9.1f}{r.median_ms:>9.1f}"
            f"{r.rss_growth_mb:>11.1f}{r.peak_alloc_mb:>9.1f}  {verdict}{'（外泄！）' if r.leaked else ''}"
        )
    return lines
