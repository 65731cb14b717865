"""WeChat reliability benchmark: the 5-second passive window with a slow model, and retry dedupe.

    python -m evals.bench_wechat [--n 20] [--delay 8] [--msgids 1000] [--data-dir DIR]

It runs the real service (``warmline serve`` in a subprocess, 安全模式 with a random AES key, the
embedded profile with its in-process delivery job) against two local fakes on 127.0.0.1: the
WeChat API (``evals.wechat_fake``) and an OpenAI-compatible model server that sleeps ``--delay``
seconds on every resident turn, so the production ``ChatOpenAI`` path is what is slow. (The
benchmark talks to the service over HTTP only: evals may not import the back office.)

(a) ``--n`` residents each send one encrypted message at once: every passive answer must come
    back in under 5 s, and every late reply must arrive through the fake customer-service API.
(b) ``--msgids`` distinct MsgIds, each pushed 4 times (two at once, one during the turn, one after
    it), as WeChat retries do; a few residents are bound and report "暖气不热", so the model calls
    ``create_repair_ticket``. Counted: model turns, stored resident messages, replies a resident
    would see (late API sends, plus one passive answer), ticket reports. Duplicates must be zero.

Without ``--data-dir`` a fresh demo company is seeded first (``warmline demo --no-serve``, a few
minutes: it embeds the demo knowledge base); with it, a copy of that seeded directory is used.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import xmltodict
from sqlalchemy import create_engine, func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from wechatpy.crypto import WeChatCrypto

import tools.models  # noqa: F401  (registers every table)
from evals.load.traffic import http_clients, server_errors
from evals.wechat_fake import FakeWeChatApi, ThreadedServer
from tools.conversations.models import Message
from tools.tickets.models import Ticket

TOKEN, APP_ID = "warmline", "wx0000000000000000"
BOUND = ("2026010001", "2026010002", "2026010003", "2026010004")


class SlowModelServer:
    """OpenAI chat-completions fake: sleeps on each resident turn; calls the ticket tool for 不热."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.turns: list[str] = []

    def app(self) -> Starlette:
        async def completions(request: Request) -> JSONResponse:
            body = await request.json()
            messages = body["messages"]
            user = next(m for m in reversed(messages) if m["role"] == "user")
            text = user["content"] if isinstance(user["content"], str) else json.dumps(user["content"])
            marker = text.rsplit("编号", 1)[-1] if "编号" in text else "?"
            if messages[-1]["role"] == "tool":
                return _completion(content=f"已为您登记报修（编号{marker}），师傅会尽快联系您。")
            self.turns.append(marker)
            await asyncio.sleep(self.delay_s)
            if "不热" in text and body.get("tools"):
                args = {"category": "no_heat", "description": text, "urgency": "normal"}
                call = {
                    "id": f"call_{uuid.uuid4().hex[:12]}",
                    "type": "function",
                    "function": {"name": "create_repair_ticket", "arguments": json.dumps(args)},
                }
                return _completion(tool_calls=[call])
            return _completion(content=f"您好，已收到您的问题（编号{marker}）：暖气费每平方米26元。")

        return Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"])])


def _completion(*, content: str | None = None, tool_calls: list | None = None) -> JSONResponse:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return JSONResponse(
        {
            "id": f"chatcmpl-{uuid.uuid4().hex[:8]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": "slow-bench",
            "choices": [
                {"index": 0, "message": message, "finish_reason": "tool_calls" if tool_calls else "stop"}
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
    )


class Pusher:
    """Pushes messages the way WeChat does in 安全模式: signed query, encrypted body."""

    def __init__(self, base_url: str, aes_key: str) -> None:
        self.url = f"{base_url}/wechat"
        self.crypto = WeChatCrypto(TOKEN, aes_key, APP_ID)

    async def push(self, client: httpx.AsyncClient, openid: str, msg_id: int, text: str) -> tuple[float, str]:
        timestamp, nonce = str(int(time.time())), uuid.uuid4().hex[:16]
        xml = (
            f"<xml><ToUserName><![CDATA[gh_hengnuan]]></ToUserName><FromUserName><![CDATA[{openid}]]>"
            f"</FromUserName><CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{text}]]></Content><MsgId>{msg_id}</MsgId></xml>"
        )
        envelope = self.crypto.encrypt_message(xml, nonce, timestamp)
        query = {
            "signature": hashlib.sha1("".join(sorted([TOKEN, timestamp, nonce])).encode()).hexdigest(),
            "timestamp": timestamp,
            "nonce": nonce,
            "msg_signature": xmltodict.parse(envelope)["xml"]["MsgSignature"],
            "encrypt_type": "aes",
        }
        started = time.monotonic()
        try:
            response = await client.post(self.url, params=query, content=envelope.encode())
        except httpx.HTTPError as exc:
            return time.monotonic() - started, f"ERROR {type(exc).__name__}"
        elapsed = time.monotonic() - started
        if response.status_code != 200:
            return elapsed, f"HTTP {response.status_code}"
        if response.text in ("success", ""):
            return elapsed, ""
        reply = xmltodict.parse(response.text)["xml"]
        plain = self.crypto.decrypt_message(
            response.text, reply["MsgSignature"], reply["TimeStamp"], reply["Nonce"]
        )
        return elapsed, xmltodict.parse(plain)["xml"]["Content"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _warmline() -> str:
    return str(Path(sys.executable).with_name("warmline"))


def _seed(data_dir: Path) -> None:
    env = {**os.environ, "WARMLINE_DATA_DIR": str(data_dir), "WARMLINE_LOG_LEVEL": "WARNING"}
    subprocess.run([_warmline(), "demo", "--no-serve"], env=env, check=True, stdout=subprocess.DEVNULL)


async def _start_service(data_dir: Path, env_extra: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "WARMLINE_DATA_DIR": str(data_dir), "WARMLINE_LOG_LEVEL": "INFO", **env_extra}
    log = open(data_dir / "serve.log", "w")  # noqa: SIM115  (closed with the process)
    process = subprocess.Popen(
        [_warmline(), "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient() as client:
        for _ in range(1500):
            if process.poll() is not None:
                raise RuntimeError(f"warmline serve exited; see {data_dir / 'serve.log'}")
            try:
                if (await client.get(f"{base}/healthz")).status_code == 200:
                    return process, base
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    process.terminate()
    process.wait(timeout=30)
    raise RuntimeError("warmline serve did not come up in 300 s")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _wait(predicate: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.2)
    return True


def _reply_markers(api: FakeWeChatApi) -> Counter[str]:
    """Late replies per MsgId marker (ticket notifications, which start with 【, are not replies)."""
    markers: Counter[str] = Counter()
    for _, text in api.sent_texts():
        if not text.startswith("【") and "编号" in text:
            markers[text.split("编号", 1)[1].split("）", 1)[0]] += 1
    return markers


async def phase_a(pusher: Pusher, api: FakeWeChatApi, *, n: int, delay: float) -> dict[str, Any]:
    async with http_clients(n, timeout=60) as clients:
        results = await asyncio.gather(
            *(
                pusher.push(
                    clients[i % len(clients)], f"oBenchA{i:04d}", 9_000_000 + i, f"暖气费多少钱一平 编号A{i}"
                )
                for i in range(n)
            )
        )
    waits = [elapsed for elapsed, _ in results]
    arrived = await _wait(
        lambda: sum(v for k, v in _reply_markers(api).items() if k.startswith("A")) >= n, 3 * delay + 60
    )
    late = {k: v for k, v in _reply_markers(api).items() if k.startswith("A")}
    return {
        "messages": n,
        "passive_max_s": round(max(waits), 3),
        "passive_p50_s": round(statistics.median(waits), 3),
        "answered_success_then_late": sum(1 for _, text in results if text == ""),
        "late_replies_via_api": sum(late.values()),
        "late_replies_distinct": len(late),
        "all_arrived": arrived,
        "ok": max(waits) < 5.0 and len(late) == n and all(v == 1 for v in late.values()),
    }


async def phase_b(pusher: Pusher, api: FakeWeChatApi, *, msgids: int, delay: float) -> dict[str, Any]:
    per_resident = 4
    residents = (msgids + per_resident - 1) // per_resident
    passive: Counter[str] = Counter()
    waits: list[float] = []
    reports: set[str] = set()
    errors: list[str] = []

    async def one_resident(client: httpx.AsyncClient, r: int) -> None:
        openid = f"oBenchB{r:04d}"
        bound = r < len(BOUND)
        if bound:
            _, answer = await pusher.push(client, openid, 9_500_000 + r, f"绑定 {BOUND[r]} {BOUND[r][-4:]}")
            assert "绑定成功" in answer, answer
        for k in range(per_resident):
            index = r * per_resident + k
            if index >= msgids:
                return
            marker = f"B{index}"
            text = f"卧室暖气不热 编号{marker}" if bound else f"暖气费多少钱一平 编号{marker}"
            if bound:
                reports.add(marker)
            msg_id = 9_100_000 + index

            async def push_at(offset: float, msg_id: int = msg_id, text: str = text) -> tuple[float, str]:
                await asyncio.sleep(offset)
                return await pusher.push(client, openid, msg_id, text)

            outcome = await asyncio.gather(*(push_at(o) for o in (0.0, 0.0, 2.0, delay + 2.0)))
            waits.extend(elapsed for elapsed, _ in outcome)
            errors.extend(answer for _, answer in outcome if answer.startswith(("HTTP", "ERROR")))
            if any(answer and not answer.startswith(("HTTP", "ERROR")) for _, answer in outcome):
                passive[marker] += 1

    async with http_clients(4 * residents, timeout=30) as clients:
        await asyncio.gather(*(one_resident(clients[r % len(clients)], r) for r in range(residents)))

    def _late() -> dict[str, int]:
        return {k: v for k, v in _reply_markers(api).items() if k.startswith("B")}

    await _wait(lambda: len(set(_late()) | set(passive)) >= msgids, 2 * delay + 60)
    late = _late()
    seen = Counter({m: late.get(m, 0) + (1 if m in passive else 0) for m in set(late) | set(passive)})
    return {
        "msgids": msgids,
        "pushes": 4 * msgids,
        "passive_max_s": round(max(waits), 3),
        "passive_p50_s": round(_pct(waits, 0.50), 3),
        "passive_p99_s": round(_pct(waits, 0.99), 3),
        "passive_over_5s": sum(wait > 5.0 for wait in waits),
        "replies_seen_per_msgid": dict(Counter(seen.values())),
        "msgids_without_reply": msgids - len(seen),
        "duplicate_replies": sum(v - 1 for v in seen.values() if v > 1),
        "report_msgids": len(reports),
        "push_errors": dict(Counter(errors)),
    }


def _server_passive_ms(data_dir: Path) -> list[int]:
    """The service's own passive-answer times (arrival to answer), from its ``wechat_answered`` logs."""
    times = []
    for line in (data_dir / "serve.log").read_text(encoding="utf-8", errors="replace").splitlines():
        if '"wechat_answered"' in line:
            try:
                times.append(int(json.loads(line)["elapsed_ms"]))
            except (ValueError, KeyError):
                continue
    return times


def _db_counts(data_dir: Path, prefix: str) -> dict[str, int]:
    engine = create_engine(f"sqlite:///{data_dir / 'warmline.db'}")
    with engine.connect() as conn:
        stored = conn.scalar(
            select(func.count()).select_from(Message).where(Message.external_id.like(f"wx:{prefix}%"))
        )
        distinct = conn.scalar(
            select(func.count(func.distinct(Message.external_id))).where(
                Message.external_id.like(f"wx:{prefix}%")
            )
        )
        tickets = conn.execute(select(Ticket.id, Ticket.duplicate_reports)).all()
    engine.dispose()
    return {
        "resident_messages": int(stored or 0),
        "duplicate_resident_messages": int((stored or 0) - (distinct or 0)),
        "tickets": len(tickets),
        "ticket_reports": sum(1 + row.duplicate_reports for row in tickets),
    }


async def run(args: argparse.Namespace) -> int:
    root = Path(tempfile.mkdtemp(prefix="wl-bench-wechat-"))
    data_dir = root / "data"
    if args.data_dir:
        shutil.copytree(args.data_dir, data_dir, ignore=shutil.ignore_patterns("serve.log"))
    else:
        print("seeding the demo company (warmline demo --no-serve) ...", flush=True)
        _seed(data_dir)
    # The demo company comes with tickets of its own: count only the reports this run adds.
    seeded_reports = _db_counts(data_dir, "91")["ticket_reports"]
    aes_key = base64.b64encode(os.urandom(32)).decode()[:-1]
    model = SlowModelServer(args.delay)
    process = None
    with FakeWeChatApi() as api:
        llm = ThreadedServer(model.app()).start()
        try:
            process, base = await _start_service(
                data_dir,
                {
                    "WARMLINE_WECHAT_AES_KEY": aes_key,
                    "WARMLINE_WECHAT_API_BASE": api.base_url,
                    "WARMLINE_WECHAT_APP_SECRET": "bench-secret",
                    "WARMLINE_LLM_BASE_URL": f"{llm.base_url}/v1",
                    "WARMLINE_LLM_TIMEOUT_S": str(args.delay + 20),
                },
            )
            pusher = Pusher(base, aes_key)
            started = time.monotonic()
            a = await phase_a(pusher, api, n=args.n, delay=args.delay)
            a["wall_s"] = round(time.monotonic() - started, 1)
            print("(a) passive window:", json.dumps(a, ensure_ascii=False), flush=True)
            started = time.monotonic()
            b = await phase_b(pusher, api, msgids=args.msgids, delay=args.delay)
            b["wall_s"] = round(time.monotonic() - started, 1)
        finally:
            if process is not None:
                process.terminate()
                process.wait(timeout=30)
            llm.stop()
    server_ms = _server_passive_ms(data_dir)
    for phase, times in (("a", server_ms[: args.n]), ("b", server_ms[args.n :])):
        if times:  # the log is in answer order: (a)'s pushes all come before (b)'s
            figures = {"n": len(times), "max_ms": max(times), "p50_ms": int(statistics.median(times))}
            print(f"server-side passive answer, arrival→answer, ({phase}):", json.dumps(figures))
    turns = Counter(marker for marker in model.turns if marker.startswith("B"))
    b |= _db_counts(data_dir, "91")
    b["ticket_reports"] -= seeded_reports
    b |= {"model_turns": sum(turns.values()), "duplicate_model_turns": sum(v - 1 for v in turns.values())}
    b["ok"] = (
        b["duplicate_replies"] == 0
        and b["msgids_without_reply"] == 0
        and b["duplicate_model_turns"] == 0
        and b["duplicate_resident_messages"] == 0
        and b["ticket_reports"] == b["report_msgids"]
        and b["passive_max_s"] < 5.0
        and not b["push_errors"]
    )
    print("(b) retries:", json.dumps(b, ensure_ascii=False), flush=True)
    errors = server_errors(data_dir / "serve.log")
    if errors:
        print("server errors (most frequent last lines):", json.dumps(errors, ensure_ascii=False), flush=True)
    shutil.rmtree(root, ignore_errors=True)
    return 0 if a["ok"] and b["ok"] else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20, help="(a) residents writing at once")
    parser.add_argument("--delay", type=float, default=8.0, help="model seconds per resident turn")
    parser.add_argument("--msgids", type=int, default=1000, help="(b) distinct MsgIds, each pushed 4 times")
    parser.add_argument("--data-dir", type=Path, help="an already seeded demo data directory to copy")
    sys.exit(asyncio.run(run(parser.parse_args())))


if __name__ == "__main__":
    main()
