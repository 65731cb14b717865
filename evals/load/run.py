"""Season-start surge against a served Warmline: ramp to N concurrent residents, then audit the books.

    python -m evals.load.run --residents 1000 --ramp 30 --messages 2            # SQLite + embedded
    python -m evals.load.run --database-url postgresql://postgres@127.0.0.1:5432/wl_load \\
        --redis-url redis://127.0.0.1:6379/5                                        # PostgreSQL + Redis
    python -m evals.load.run --model-latency 3.0                                  # a slow LLM endpoint

It seeds a fresh data directory with the demo company (``warmline demo --no-serve``, or a copy of
``--seeded-dir``, which ``warmline eval all`` builds with embeddings it already has), serves it with
``warmline serve`` in a child process on 127.0.0.1, and drives it only over HTTP: half the residents
are WeChat followers posting encrypted XML, half use the web chat (a third of those bound to a demo
account). ``--model-latency`` puts an OpenAI-compatible fake model on 127.0.0.1 that answers after
that many seconds, to show the WeChat path still answers within 5 s; a fake WeChat API on
127.0.0.1 (``evals.wechat_fake``) takes the late replies sent after a "success". Once the traffic
stops, the run waits (``--drain`` at most) for the backlog to be answered, then reads the database:
every accepted message must be stored exactly once (zero lost), answered (zero unanswered) and
answered at most once (zero duplicate turns), and every "success" must be followed by exactly one
late reply through the API. All traffic stays on this machine and the run is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import shutil
import signal
import statistics
import string
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import create_engine, select
from sqlalchemy.engine import make_url

from evals.load.fake_llm import serve_fake_llm
from evals.load.traffic import (
    WECHAT_LIMIT_S,
    Sample,
    WeChatPeer,
    http_clients,
    server_errors,
    web_resident,
    wechat_resident,
)
from evals.wechat_fake import FakeWeChatApi
from tools.conversations.models import Message
from tools.crm.models import Account, Resident

TOKEN = "warmline-load"
STALLED_S = 60.0  # the drain gives up after this long without a single new answer or late reply
APP_ID = "wx00000000load0000"


def new_aes_key() -> str:
    """A random EncodingAESKey as the platform issues them: 43 letters and digits (base64 of 32
    bytes without its "="). URL-safe base64 would put "-" and "_" in it, which the crypto's
    standard base64 decode drops, failing most runs with "Incorrect padding"."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(43))


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _warmline() -> str:
    return str(Path(sys.executable).with_name("warmline"))


def _prepare_database(url: str | None) -> None:
    if not url or not url.startswith("postgresql"):
        return
    parsed = make_url(url)
    admin = parsed.set(database="postgres").render_as_string(hide_password=False).replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{parsed.database}"')


def _env(
    data_dir: Path,
    args: argparse.Namespace,
    aes_key: str,
    llm_url: str | None,
    wechat_api: str | None = None,
) -> dict[str, str]:
    env = {
        **os.environ,
        "WARMLINE_DATA_DIR": str(data_dir),
        "WARMLINE_WECHAT_TOKEN": TOKEN,
        "WARMLINE_WECHAT_APP_ID": APP_ID,
        "WARMLINE_WECHAT_AES_KEY": aes_key,
        "WARMLINE_LOG_LEVEL": "WARNING",
        "HF_HUB_OFFLINE": "1",
        "ANONYMIZED_TELEMETRY": "False",
    }
    for key in ("WARMLINE_LLM_BASE_URL", "WARMLINE_DATABASE_URL", "WARMLINE_REDIS_URL"):
        env.pop(key, None)
    if wechat_api:  # late replies go to this fake of the customer-service API
        env |= {"WARMLINE_WECHAT_API_BASE": wechat_api, "WARMLINE_WECHAT_APP_SECRET": "load-secret"}
    if args.database_url:
        env["WARMLINE_DATABASE_URL"] = args.database_url
    if args.redis_url:
        env["WARMLINE_REDIS_URL"] = args.redis_url
    if llm_url:
        env |= {
            "WARMLINE_LLM_BASE_URL": llm_url,
            "WARMLINE_LLM_MODEL": "fake-slow",
            "WARMLINE_LLM_TIMEOUT_S": "60",
        }
    return env


async def _wait_healthy(base: str, process: subprocess.Popen[bytes], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=base, timeout=2) as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"server exited with {process.returncode}")
            try:
                if (await http.get("/healthz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.5)
    raise RuntimeError("server did not become healthy")


def _bound_accounts(database_url: str, limit: int) -> list[tuple[str, str]]:
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(Account.account_no, Resident.phone)
                .join(Resident, Account.resident_id == Resident.id)
                .order_by(Account.account_no)
                .limit(limit)
            ).all()
    finally:
        engine.dispose()
    return [(row.account_no, row.phone[-4:]) for row in rows]


def _expected(samples: list[Sample]) -> set[str]:
    accepted = [s for s in samples if s.ok and s.msg_id]
    return {f"wx:{s.msg_id}" if s.channel == "wechat" else f"client:{s.msg_id}" for s in accepted}


def _books(database_url: str) -> tuple[dict[str, str], Counter[str]]:
    """Resident messages by external id (→ message id), and bot replies per resident message."""
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            stored = {
                row.external_id: row.id
                for row in conn.execute(
                    select(Message.external_id, Message.id).where(
                        Message.sender == "resident", Message.external_id.is_not(None)
                    )
                )
            }
            replies = Counter(
                (row.meta or {}).get("reply_to")
                for row in conn.execute(select(Message.meta).where(Message.sender == "bot"))
            )
    finally:
        engine.dispose()
    return stored, replies


def _unanswered(expected: set[str], stored: dict[str, str], replies: Counter[str]) -> int:
    return sum(1 for key in expected if key in stored and not replies.get(stored[key]))


async def drain(database_url: str, samples: list[Sample], api: FakeWeChatApi, timeout: float) -> float:
    """Wait until the backlog is answered and every late WeChat reply went out (or ``timeout``)."""
    expected = _expected(samples)
    late_owed = sum(s.reply_kind == "success" for s in samples if s.channel == "wechat" and s.ok)
    started = moved = time.monotonic()
    progress: tuple[int, int] | None = None
    while time.monotonic() - started < timeout and time.monotonic() - moved < STALLED_S:
        stored, replies = await asyncio.to_thread(_books, database_url)
        now = (_unanswered(expected, stored, replies), len(_late_replies(api)))
        if not now[0] and now[1] >= late_owed:
            break
        if now != progress:
            progress, moved = now, time.monotonic()
        await asyncio.sleep(1.0)
    return time.monotonic() - started


def _late_replies(api: FakeWeChatApi) -> list[tuple[str, str]]:
    """Replies sent through the customer-service API (ticket notifications start with 【)."""
    return [(openid, text) for openid, text in api.sent_texts() if not text.startswith("【")]


def audit(database_url: str, samples: list[Sample], api: FakeWeChatApi) -> dict[str, int]:
    """Lost = accepted but not stored; unanswered = stored, never answered; duplicate turns = one
    resident message answered twice; late replies are matched to the openids that got "success"."""
    stored, replies = _books(database_url)
    expected = _expected(samples)
    owed = Counter(s.user for s in samples if s.channel == "wechat" and s.ok and s.reply_kind == "success")
    sent = Counter(openid for openid, _ in _late_replies(api))
    return {
        "accepted": len(expected),
        "stored": len(expected & set(stored)),
        "lost": len(expected - set(stored)),
        "unanswered": _unanswered(expected, stored, replies),
        "duplicate_turns": sum(1 for key, count in replies.items() if key and count > 1),
        "late_owed": sum(owed.values()),
        "late_sent": sum(sent[user] for user in owed),
        "late_missing": sum(max(0, count - sent[user]) for user, count in owed.items()),
        "late_extra": sum(max(0, sent[user] - owed[user]) for user in sent),
    }


def summarise(samples: list[Sample], wall: float) -> dict[str, Any]:
    by_channel: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        by_channel[sample.channel].append(sample)
    result: dict[str, Any] = {
        "wall_s": round(wall, 1),
        "requests": len(samples),
        "throughput_rps": round(len(samples) / wall, 1),
    }
    for channel, group in sorted(by_channel.items()):
        times = [s.seconds for s in group]
        result[channel] = {
            "requests": len(group),
            "errors": sum(not s.ok for s in group),
            "p50_ms": round(_percentile(times, 0.50) * 1000),
            "p95_ms": round(_percentile(times, 0.95) * 1000),
            "p99_ms": round(_percentile(times, 0.99) * 1000),
            "max_ms": round(max(times) * 1000),
            "mean_ms": round(statistics.fmean(times) * 1000),
        }
        if channel == "wechat":
            result[channel]["over_5s"] = sum(s.seconds > WECHAT_LIMIT_S for s in group)
            result[channel]["late_replies"] = sum(s.reply_kind == "success" for s in group)
        errors = Counter(f"{s.status} {s.error[:40]}" for s in group if not s.ok)
        if errors:
            result[channel]["error_kinds"] = dict(errors.most_common(5))
    return result


async def drive(
    base: str, args: argparse.Namespace, peer: WeChatPeer, accounts: list[tuple[str, str]]
) -> tuple[list[Sample], float]:
    rng = random.Random(args.seed)
    samples: list[Sample] = []
    started = time.perf_counter()
    async with http_clients(args.residents, base_url=base, timeout=args.request_timeout) as clients:

        async def resident(index: int) -> None:
            await asyncio.sleep(args.ramp * index / max(1, args.residents))
            local = random.Random(rng.random() + index)
            http = clients[index % len(clients)]
            if index % 2 == 0:
                samples.extend(
                    await wechat_resident(http, peer, index=index, messages=args.messages, rng=local)
                )
            else:
                account = accounts[index % len(accounts)] if accounts and index % 3 == 1 else None
                samples.extend(
                    await web_resident(http, index=index, messages=args.messages, rng=local, account=account)
                )

        await asyncio.wait_for(
            asyncio.gather(*(resident(i) for i in range(args.residents))),
            timeout=args.ramp + args.max_seconds,
        )
    return samples, time.perf_counter() - started


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="warmline-load-"))
    aes_key = new_aes_key()
    database_url = args.database_url or f"sqlite:///{workdir / 'data' / 'warmline.db'}"
    _prepare_database(args.database_url)
    fake = await serve_fake_llm(args.model_latency) if args.model_latency is not None else None
    wechat_api = FakeWeChatApi().__enter__()
    env = _env(workdir / "data", args, aes_key, fake.url if fake else None, wechat_api.base_url)
    try:
        if args.seeded_dir:
            shutil.copytree(args.seeded_dir, workdir / "data")
        else:
            subprocess.run(
                [_warmline(), "demo", "--no-serve"], env=env, check=True, stdout=subprocess.DEVNULL
            )
        port = args.port
        log = (workdir / "serve.log").open("w")
        server = subprocess.Popen(
            [_warmline(), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            await _wait_healthy(base, server)
            accounts = _bound_accounts(database_url, 60)
            samples, wall = await drive(base, args, WeChatPeer(TOKEN, APP_ID, aes_key), accounts)
            drained = await drain(database_url, samples, wechat_api, args.drain)
            await asyncio.sleep(args.settle)  # a late reply sent just now is still being recorded
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        report = summarise(samples, wall)
        report["drain_s"] = round(drained, 1)
        report["integrity"] = audit(database_url, samples, wechat_api)
        log.close()
        if errors := server_errors(workdir / "serve.log"):
            report["server_errors"] = errors
        if args.samples:
            report["latencies_ms"] = {
                channel: [round(s.seconds * 1000, 1) for s in samples if s.channel == channel]
                for channel in sorted({s.channel for s in samples})
            }
        report["setup"] = {
            "residents": args.residents,
            "messages_per_resident": args.messages,
            "ramp_s": args.ramp,
            "database": "postgresql" if args.database_url else "sqlite",
            "redis": bool(args.redis_url),
            "model": f"fake OpenAI-compatible, {args.model_latency}s per call" if fake else "offline policy",
        }
        return report
    finally:
        wechat_api.__exit__(None, None, None)
        if fake:
            await fake.close()
        shutil.rmtree(workdir, ignore_errors=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=2, help="messages per resident")
    parser.add_argument("--ramp", type=float, default=30.0, help="seconds to reach all residents")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="hard cap after the ramp")
    parser.add_argument("--request-timeout", type=float, default=60.0)
    parser.add_argument("--settle", type=float, default=2.0)
    parser.add_argument(
        "--drain", type=float, default=300.0, help="seconds to wait for the backlog after the traffic"
    )
    parser.add_argument("--port", type=int, default=8391)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--redis-url", default=None)
    parser.add_argument("--model-latency", type=float, default=None, help="seconds per fake LLM call")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--samples", action="store_true", help="keep every request's latency (histograms)")
    parser.add_argument(
        "--seeded-dir",
        type=Path,
        default=None,
        help="copy this seeded data directory (warmline.db + chroma/) instead of running warmline demo",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.seeded_dir and args.database_url:
        raise SystemExit("--seeded-dir holds a SQLite company; it cannot seed --database-url")
    report = asyncio.run(main_async(args))
    print(json.dumps(report, ensure_ascii=False, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    integrity = report["integrity"]
    bad = (
        integrity["lost"]
        or integrity["unanswered"]
        or integrity["duplicate_turns"]
        or integrity["late_missing"]
        or integrity["late_extra"]
        or report.get("wechat", {}).get("over_5s", 0)
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
