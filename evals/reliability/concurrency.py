"""Same-conversation bursts and takeover races on PostgreSQL, with the figures the goals table asks for.

    python -m evals.reliability.concurrency --database-url postgresql://postgres@127.0.0.1:5432/wl_conc \\
        [--residents 100 --burst 10] [--agents 50 --rounds 1000] [--redis-url redis://127.0.0.1:6379/7]

Bursts: every resident fires ``--burst`` messages at once at a served ``warmline serve``. LangGraph's
PostgreSQL saver has no single-writer guarantee of its own (two turns on one thread fork the
checkpoint chain), so the runtime's per-conversation lock must serialise them. Audited from the
database afterwards: no two checkpoints of a thread share a parent (zero forks), every reply
directly follows the message it answers (turns never interleave), and the graph's history holds
the resident messages in the order they were stored.

Takeovers: ``--agents`` agents claim one conversation at the same instant, ``--rounds`` times, each
claim its own transaction through ``take_over`` (the atomic ``UPDATE … WHERE owner IS NULL``). Every
round must end with exactly one owner; every tenth round the resident writes while the agent owns
the conversation and the bot must stay silent.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import shutil
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, select, text

import tools.models  # noqa: F401  (every table, so the ORM can resolve staff_users' foreign keys)
from evals.load.run import _env, _prepare_database, _warmline
from evals.reliability.crash import Server
from tools.clock import SystemClock
from tools.conversations.models import Conversation, Message
from tools.conversations.service import hand_back, take_over
from tools.db import make_engine, make_sessionmaker
from tools.settings import Settings
from tools.staff.models import StaffUser

QUESTIONS = ["暖气费多少钱一平", "今年什么时候开始供暖", "在哪交费", "暖气不热怎么办", "怎么报停"]


async def bursts(base: str, residents: int, burst: int) -> tuple[list[str], float]:
    limits = httpx.Limits(max_connections=residents * burst)
    async with httpx.AsyncClient(base_url=base, timeout=600, limits=limits) as http:
        opened = [
            (await http.post("/api/v1/chat/sessions", json={"channel": "web"})).json()
            for _ in range(residents)
        ]

        async def say(session: dict[str, Any], n: int) -> int:
            response = await http.post(
                f"/api/v1/chat/sessions/{session['session_id']}/messages",
                json={"text": QUESTIONS[n % len(QUESTIONS)], "client_message_id": uuid.uuid4().hex},
                headers={"Authorization": f"Bearer {session['token']}"},
            )
            return response.status_code

        started = time.perf_counter()
        statuses = await asyncio.gather(*(say(s, n) for s in opened for n in range(burst)))
        wall = time.perf_counter() - started
    bad = Counter(status for status in statuses if status != 200)
    if bad:
        raise RuntimeError(f"burst requests failed: {dict(bad)}")
    return [s["session_id"] for s in opened], wall


def audit_bursts(sync_url: str, conversation_ids: list[str]) -> dict[str, int]:
    engine = create_engine(sync_url)
    try:
        with engine.connect() as conn:
            forks = conn.execute(
                text(
                    "SELECT count(*) FROM (SELECT thread_id, parent_checkpoint_id FROM checkpoints"
                    " WHERE checkpoint_ns = '' AND thread_id = ANY(:ids) AND parent_checkpoint_id IS NOT NULL"
                    " GROUP BY thread_id, parent_checkpoint_id HAVING count(*) > 1) AS f"
                ),
                {"ids": conversation_ids},
            ).scalar_one()
            chained = conn.execute(
                text(
                    "SELECT count(*) FROM checkpoints WHERE checkpoint_ns = '' AND thread_id = ANY(:ids)"
                    " AND parent_checkpoint_id IS NOT NULL"
                ),
                {"ids": conversation_ids},
            ).scalar_one()
            rows = conn.execute(
                select(Message.conversation_id, Message.seq, Message.id, Message.sender, Message.meta)
                .where(Message.conversation_id.in_(conversation_ids))
                .order_by(Message.conversation_id, Message.seq)
            ).all()
    finally:
        engine.dispose()
    interleaved = unanswered = 0
    by_conversation: dict[str, list[Any]] = {}
    for row in rows:
        by_conversation.setdefault(row.conversation_id, []).append(row)
    for messages in by_conversation.values():
        for index, row in enumerate(messages):
            if row.sender != "resident":
                continue
            following = messages[index + 1] if index + 1 < len(messages) else None
            if following is None or following.sender != "bot":
                unanswered += 1
            elif (following.meta or {}).get("reply_to") != row.id:
                interleaved += 1
    return {
        "checkpoints_checked": int(chained),
        "checkpoint_forks": int(forks),
        "replies_out_of_turn": interleaved,
        "unanswered": unanswered,
    }


async def history_order(url: str, conversation_ids: list[str], sync_url: str) -> int:
    """Threads whose checkpointed history orders the resident messages unlike the database."""
    from langchain_core.messages import HumanMessage
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

    engine = create_engine(sync_url)
    with engine.connect() as conn:
        stored = {
            cid: [
                r.id
                for r in conn.execute(
                    select(Message.id)
                    .where(Message.conversation_id == cid, Message.sender == "resident")
                    .order_by(Message.seq)
                )
            ]
            for cid in conversation_ids
        }
    engine.dispose()
    wrong = 0
    async with AsyncPostgresSaver.from_conn_string(url) as saver:
        for cid in conversation_ids:
            saved = await saver.aget_tuple({"configurable": {"thread_id": cid}})
            messages = (saved.checkpoint["channel_values"].get("messages", []) if saved else []) or []
            order = [m.id for m in messages if isinstance(m, HumanMessage)]
            wrong += order != stored[cid]
    return wrong


async def takeovers(database_url: str, base: str, agents: int, rounds: int) -> dict[str, Any]:
    engine = make_engine(Settings(database_url=database_url), pool_size=agents, max_overflow=10)
    sessions = make_sessionmaker(engine)
    clock = SystemClock()
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        opened = (await http.post("/api/v1/chat/sessions", json={"channel": "web"})).json()
        headers = {"Authorization": f"Bearer {opened['token']}"}
        conversation_id = opened["session_id"]
        async with sessions() as session, session.begin():
            staff = []
            for n in range(agents):  # rows directly: bcrypt for fifty agents is not what is measured
                user = StaffUser(
                    username=f"race-{uuid.uuid4().hex[:8]}-{n}",
                    display_name=f"坐席{n}",
                    password_hash="x",
                    role="agent",
                )
                session.add(user)
                staff.append(user)
            await session.flush()
            staff_ids = [user.id for user in staff]

        async def claim(staff_id: str) -> bool:
            async with sessions() as session, session.begin():
                return await take_over(
                    session, conversation_id=conversation_id, staff_id=staff_id, clock=clock
                )

        outcomes: Counter[int] = Counter()
        spoke = 0
        started = time.perf_counter()
        for round_no in range(rounds):
            winners = sum(await asyncio.gather(*(claim(s) for s in staff_ids)))
            outcomes[winners] += 1
            async with sessions() as session:
                owner = await session.scalar(
                    select(Conversation.owner_staff_id).where(Conversation.id == conversation_id)
                )
            if round_no % 10 == 0:
                spoke += await _bot_spoke_while_owned(http, sessions, conversation_id, headers)
            if owner is None:  # nobody won: counted above as a failed round, nothing to hand back
                continue
            async with sessions() as session, session.begin():
                await hand_back(
                    session, conversation_id=conversation_id, staff_id=owner, role="agent", clock=clock
                )
        wall = time.perf_counter() - started
    await engine.dispose()
    return {
        "rounds": rounds,
        "agents": agents,
        "rounds_with_exactly_one_owner": outcomes[1],
        "rounds_with_other_owner_counts": {k: v for k, v in outcomes.items() if k != 1},
        "bot_replies_while_owned": spoke,
        "checks_of_bot_silence": (rounds + 9) // 10,
        "claims_per_s": round(rounds * agents / wall),
    }


async def _bot_spoke_while_owned(
    http: httpx.AsyncClient, sessions: Any, conversation_id: str, headers: dict[str, str]
) -> int:
    response = await http.post(
        f"/api/v1/chat/sessions/{conversation_id}/messages",
        json={"text": "暖气还是不热", "client_message_id": uuid.uuid4().hex},
        headers=headers,
    )
    response.raise_for_status()
    async with sessions() as session:
        last = await session.scalar(
            select(Message.sender)
            .where(Message.conversation_id == conversation_id)
            .order_by(Message.seq.desc())
            .limit(1)
        )
    return int(response.json().get("reply") is not None or last == "bot")


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="warmline-concurrency-"))
    data_dir = args.data_dir or workdir / "data"
    if not args.data_dir:
        _prepare_database(args.database_url)
    env = _env(data_dir, args, secrets.token_urlsafe(32)[:43], None)
    env["WARMLINE_CHAT_RATE_PER_MINUTE"] = "100000"  # races are measured here, not the flood cap
    sync_url = args.database_url.replace("postgresql://", "postgresql+psycopg://")
    server = Server(env, args.port)
    try:
        if not args.data_dir:
            subprocess.run(
                [_warmline(), "demo", "--no-serve"], env=env, check=True, stdout=subprocess.DEVNULL
            )
        await server.start()
        report: dict[str, Any] = {"setup": {"redis": bool(args.redis_url), "database": "postgresql"}}
        if args.residents:
            ids, wall = await bursts(server.base, args.residents, args.burst)
            report["bursts"] = {
                "residents": args.residents,
                "messages_each_at_once": args.burst,
                "wall_s": round(wall, 1),
                **audit_bursts(sync_url, ids),
                "history_out_of_order": await history_order(args.database_url, ids, sync_url),
            }
            print(json.dumps(report["bursts"], ensure_ascii=False), flush=True)
        if args.rounds:
            report["takeovers"] = await takeovers(args.database_url, server.base, args.agents, args.rounds)
        return report
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def failed(report: dict[str, Any]) -> bool:
    bursts_ = report.get("bursts", {})
    races = report.get("takeovers", {})
    return bool(
        bursts_.get("checkpoint_forks")
        or bursts_.get("replies_out_of_turn")
        or bursts_.get("unanswered")
        or bursts_.get("history_out_of_order")
        or races.get("rounds_with_other_owner_counts")
        or races.get("bot_replies_while_owned")
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database-url", required=True, help="postgresql://… (dropped and recreated)")
    parser.add_argument("--redis-url")
    parser.add_argument("--data-dir", type=Path, help="an already seeded data dir for --database-url")
    parser.add_argument("--residents", type=int, default=100)
    parser.add_argument("--burst", type=int, default=10)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--port", type=int, default=8392)
    args = parser.parse_args(argv)
    args.model_latency = None
    report = asyncio.run(main_async(args))
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 1 if failed(report) else 0


if __name__ == "__main__":
    raise SystemExit(main())
