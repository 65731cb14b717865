"""kill -9 the served app at random points of live turns, restart it, and audit what survived.

    python -m evals.reliability.crash --kills 100 \\
        --database-url postgresql://postgres@127.0.0.1:5432/wl_crash [--redis-url redis://127.0.0.1:6379/6]

Each cycle fires a handful of residents' messages at once (an emergency leak that opens a ticket,
a payment request, knowledge questions, a follow-up in a conversation that survived an earlier
crash), SIGKILLs ``warmline serve`` after a random delay within one turn's duration, restarts it
and resends every message with its ``client_message_id``, as the widget and app do when they got
no answer. Before the restart it notes where each turn was when the process died (not yet
stored, stored without a reply, side effect done without a reply, replied but never acknowledged).

Afterwards the database must show, for every message sent: exactly one stored resident message
(zero lost, zero doubled), exactly one bot reply, at most one ticket or payment order per
conversation (zero duplicate side effects), and each restart must have answered the resends
within 30 s. A green run is the claim the runtime's docstring makes: accepted messages survive a
crash and resumed turns never repeat their side effects.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, func, select

from evals.load.fake_llm import serve_fake_llm
from evals.load.run import _bound_accounts, _env, _prepare_database, _wait_healthy, _warmline
from tools.conversations.models import Message
from tools.tickets.models import Ticket

LEAK = "家里暖气管爆了，水流了一地，快派人来"
PAY = "我要交暖气费"
QUESTIONS = ["暖气费多少钱一平", "今年什么时候开始供暖", "在哪交费", "暖气不热怎么办"]
FOLLOW_UPS = ["暖气费多少钱一平", "今年什么时候开始供暖"]  # no side effect, so ticket/order counts stay exact
RESUME_LIMIT_S = 30.0
EMPTY_TURN = "抱歉，我没有理解您的问题"


@dataclass
class Sent:
    conversation_id: str
    headers: dict[str, str]
    text: str
    client_id: str
    kind: str  # leak | pay | question | follow_up
    account_no: str | None = None
    acked: dict[str, Any] | None = None
    at_kill: str = ""
    retried: dict[str, Any] | None = None


@dataclass
class Run:
    kills: int = 0
    restarts_s: list[float] = field(default_factory=list)
    resume_s: list[float] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    kill_delays_ms: list[float] = field(default_factory=list)


class Server:
    def __init__(self, env: dict[str, str], port: int) -> None:
        self.env, self.port, self.base = env, port, f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self) -> float:
        started = time.perf_counter()
        self.process = subprocess.Popen(
            [_warmline(), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        await _wait_healthy(self.base, self.process)
        return time.perf_counter() - started

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


async def _open(http: httpx.AsyncClient, account: tuple[str, str] | None) -> tuple[str, dict[str, str]]:
    body: dict[str, str] = {"channel": "web"}
    if account:
        body |= {"account_no": account[0], "phone_last4": account[1]}
    response = await http.post("/api/v1/chat/sessions", json=body)
    response.raise_for_status()
    data = response.json()
    return data["session_id"], {"Authorization": f"Bearer {data['token']}"}


async def _post(http: httpx.AsyncClient, sent: Sent) -> dict[str, Any]:
    response = await http.post(
        f"/api/v1/chat/sessions/{sent.conversation_id}/messages",
        json={"text": sent.text, "client_message_id": sent.client_id},
        headers=sent.headers,
    )
    response.raise_for_status()
    return response.json()


async def _plan_cycle(
    http: httpx.AsyncClient, rng: random.Random, accounts: list[tuple[str, str]], run: Run, width: int
) -> list[Sent]:
    """New conversations for side effects, plus follow-ups in conversations that lived through a kill."""
    batch: list[Sent] = []
    survivors = [s for s in run.sent if s.retried is not None]
    for slot in range(width):
        if slot == 0 or (slot == width - 1 and not survivors):
            kind, text = "leak", LEAK
        elif slot == 1:
            kind, text = "pay", PAY
        elif slot == width - 1:
            earlier = rng.choice(survivors)
            batch.append(
                Sent(
                    earlier.conversation_id,
                    earlier.headers,
                    rng.choice(FOLLOW_UPS),
                    uuid.uuid4().hex,
                    "follow_up",
                )
            )
            continue
        else:
            kind, text = "question", rng.choice(QUESTIONS)
        account = rng.choice(accounts) if kind != "question" else None
        conversation_id, headers = await _open(http, account)
        batch.append(
            Sent(conversation_id, headers, text, uuid.uuid4().hex, kind, account[0] if account else None)
        )
    return batch


def _where_was_it(engine: Any, batch: list[Sent]) -> None:
    """Classify each turn's state at the moment of the kill from what the database holds."""
    with engine.connect() as conn:
        for sent in batch:
            if sent.acked is not None:
                sent.at_kill = "acknowledged"
                continue
            row = conn.execute(
                select(Message.id, Message.meta).where(Message.external_id == f"client:{sent.client_id}")
            ).first()
            tickets = conn.scalar(
                select(func.count()).select_from(Ticket).where(Ticket.conversation_id == sent.conversation_id)
            )
            if row is None:
                sent.at_kill = "not yet stored"
            elif (row.meta or {}).get("reply_id"):
                sent.at_kill = "replied, not acknowledged"
            elif tickets:
                sent.at_kill = "ticket written, no reply"
            else:
                sent.at_kill = "stored, turn running"


async def _resend(http: httpx.AsyncClient, batch: list[Sent]) -> float:
    started = time.perf_counter()

    async def one(sent: Sent) -> None:
        while True:
            try:
                sent.retried = await _post(http, sent)
                return
            except httpx.HTTPError:
                if time.perf_counter() - started > 120:
                    raise
                await asyncio.sleep(0.5)

    await asyncio.gather(*(one(s) for s in batch))
    return time.perf_counter() - started


async def _cycle(
    server: Server,
    http: httpx.AsyncClient,
    engine: Any,
    rng: random.Random,
    run: Run,
    *,
    accounts: list[tuple[str, str]],
    width: int,
    max_delay: float,
) -> None:
    batch = await _plan_cycle(http, rng, accounts, run, width)

    async def fire(sent: Sent) -> None:
        with contextlib.suppress(httpx.HTTPError):  # the kill cut it off: the resend finds out
            sent.acked = await _post(http, sent)

    tasks = [asyncio.create_task(fire(s)) for s in batch]
    delay = rng.uniform(0, max_delay)
    await asyncio.sleep(delay)
    server.kill()
    run.kills += 1
    run.kill_delays_ms.append(delay * 1000)
    await asyncio.gather(*tasks)
    _where_was_it(engine, batch)
    restarted = time.perf_counter()
    run.restarts_s.append(await server.start())
    await _resend(http, batch)
    run.resume_s.append(time.perf_counter() - restarted)
    run.sent.extend(batch)


def payment_audit(engine: Any) -> dict[str, int]:
    """Orders the bot created (keyed on its tool call) against the payment requests residents sent.

    Both sides come from the database, per account, so earlier runs on the same database and orders
    the seed made outside the chat cannot be mistaken for duplicates.
    """
    from tools.billing.models import PaymentOrder
    from tools.conversations.models import Conversation

    with engine.connect() as conn:
        orders = Counter(
            row.account_id
            for row in conn.execute(
                select(PaymentOrder.account_id).where(PaymentOrder.idempotency_key.like("tool:%"))
            )
        )
        requests = Counter(
            row.account_id
            for row in conn.execute(
                select(Conversation.account_id)
                .join(Message, Message.conversation_id == Conversation.id)
                .where(Message.sender == "resident", Message.text == PAY)
            )
        )
    return {
        "payment_requests": sum(requests.values()),
        "payment_orders_created": sum(orders.values()),
        "duplicate_payment_orders": sum(max(0, n - requests[a]) for a, n in orders.items()),
    }


def audit(engine: Any, run: Run) -> dict[str, Any]:
    with engine.connect() as conn:
        residents = Counter(
            row.external_id
            for row in conn.execute(select(Message.external_id).where(Message.sender == "resident"))
        )
        ids = {
            row.external_id: row.id
            for row in conn.execute(
                select(Message.external_id, Message.id).where(Message.sender == "resident")
            )
        }
        bot_rows = conn.execute(select(Message.meta, Message.text).where(Message.sender == "bot")).all()
        replies = Counter((row.meta or {}).get("reply_to") for row in bot_rows)
        # The runtime's text for a turn that produced nothing: after a crash it means the turn was lost.
        empty_turns = {
            (row.meta or {}).get("reply_to") for row in bot_rows if row.text.startswith(EMPTY_TURN)
        }
        tickets = Counter(row.conversation_id for row in conn.execute(select(Ticket.conversation_id)))
        # A resident whose earlier leak ticket is still open gets it updated, not a second one.
        named_existing = {
            row.conversation_id
            for row in conn.execute(
                select(Message.conversation_id).where(
                    Message.sender == "bot", Message.text.like("%之前的报修工单%")
                )
            )
        }
    keys = [f"client:{s.client_id}" for s in run.sent]
    leak_conversations = {s.conversation_id for s in run.sent if s.kind == "leak"}
    mismatched = sum(
        1
        for s in run.sent
        if s.acked is not None and s.retried is not None and s.acked.get("reply") != s.retried.get("reply")
    )
    return {
        "messages_sent": len(keys),
        "acknowledged_before_kill": sum(s.acked is not None for s in run.sent),
        "lost": sum(residents[k] == 0 for k in keys),
        "stored_twice": sum(residents[k] > 1 for k in keys),
        "unanswered": sum(replies[ids.get(k)] == 0 for k in keys),
        "answered_twice": sum(replies[ids.get(k)] > 1 for k in keys),
        "answered_with_empty_turn": sum(ids.get(k) in empty_turns for k in keys),
        "acked_reply_changed_on_resend": mismatched,
        "leak_conversations": len(leak_conversations),
        "leak_conversations_with_new_ticket": sum(tickets[c] >= 1 for c in leak_conversations),
        "leak_conversations_added_to_open_ticket": sum(
            tickets[c] == 0 and c in named_existing for c in leak_conversations
        ),
        "duplicate_tickets": sum(max(0, tickets[c] - 1) for c in leak_conversations),
        **payment_audit(engine),
    }


def summarise(run: Run, integrity: dict[str, Any], setup: dict[str, Any]) -> dict[str, Any]:
    points = Counter(s.at_kill for s in run.sent)
    return {
        "setup": setup,
        "kills": run.kills,
        "kill_points": dict(points.most_common()),
        "restart_p50_s": round(sorted(run.restarts_s)[len(run.restarts_s) // 2], 1)
        if run.restarts_s
        else None,
        "resume_max_s": round(max(run.resume_s), 1) if run.resume_s else None,
        "resumed_over_30s": sum(s > RESUME_LIMIT_S for s in run.resume_s),
        "integrity": integrity,
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="warmline-crash-"))
    data_dir = args.data_dir or workdir / "data"
    if not args.data_dir:
        _prepare_database(args.database_url)
    fake = await serve_fake_llm(args.model_latency) if args.model_latency is not None else None
    env = _env(data_dir, args, secrets.token_urlsafe(32)[:43], fake.url if fake else None)
    rng = random.Random(args.seed)
    engine = create_engine(args.database_url.replace("postgresql://", "postgresql+psycopg://"))
    server = Server(env, args.port)
    run = Run()
    try:
        if not args.data_dir:
            subprocess.run(
                [_warmline(), "demo", "--no-serve"], env=env, check=True, stdout=subprocess.DEVNULL
            )
        accounts = _bound_accounts(args.database_url, 40)
        await server.start()
        async with httpx.AsyncClient(base_url=server.base, timeout=60) as http:
            for _ in range(
                2
            ):  # unkilled batches (the second one warm) set the kill window to a turn's length
                warm = await _plan_cycle(http, rng, accounts, run, args.width)
                started = time.perf_counter()
                for sent, reply in zip(
                    warm, await asyncio.gather(*(_post(http, s) for s in warm)), strict=True
                ):
                    sent.acked = sent.retried = reply
                    sent.at_kill = "before the first kill"
                run.sent.extend(warm)
                max_delay = args.max_delay or time.perf_counter() - started
            for _ in range(args.kills):
                await _cycle(
                    server, http, engine, rng, run, accounts=accounts, width=args.width, max_delay=max_delay
                )
                if args.progress:
                    points = Counter(s.at_kill for s in run.sent[-args.width :])
                    print(f"kill {run.kills}/{args.kills}: {dict(points)}", flush=True)
        server.stop()
        return summarise(
            run,
            audit(engine, run),
            {
                "database": "postgresql",
                "redis": bool(args.redis_url),
                "messages_per_kill": args.width,
                "kill_window_ms": round(max_delay * 1000),
                "model": f"fake OpenAI-compatible, {args.model_latency}s per call"
                if fake
                else "offline policy",
            },
        )
    finally:
        server.stop()
        engine.dispose()
        if fake:
            await fake.close()
        shutil.rmtree(workdir, ignore_errors=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--width", type=int, default=5, help="messages in flight at each kill")
    parser.add_argument("--database-url", required=True, help="postgresql://… (dropped and recreated)")
    parser.add_argument("--redis-url")
    parser.add_argument("--port", type=int, default=8391)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--max-delay", type=float, help="seconds; default: 1.2 × one unkilled batch")
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="an already seeded data dir for --database-url (default: seed a fresh one)",
    )
    parser.add_argument(
        "--model-latency",
        type=float,
        help="serve a slow fake LLM (no tool calls): kills land in the model call",
    )
    parser.add_argument("--progress", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the report here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.database_url.startswith("postgresql"):
        raise SystemExit("the crash run needs PostgreSQL (SQLite's saver is single-process)")
    report = asyncio.run(main_async(args))
    text = json.dumps(report, ensure_ascii=False, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text, encoding="utf-8")
    bad = report["integrity"]
    failed = (
        any(
            bad[k]
            for k in (
                "lost",
                "stored_twice",
                "unanswered",
                "answered_twice",
                "answered_with_empty_turn",
                "duplicate_tickets",
                "duplicate_payment_orders",
            )
        )
        or report["resumed_over_30s"]
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
