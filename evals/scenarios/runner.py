"""Run scenarios k times each against served instances and report pass^1 and pass^k.

pass^k is tau-bench's reliability measure: the chance that all k independent tries of a task
succeed, estimated per task from n tries with c successes as C(c, k) / C(n, k), then averaged.
The offline policy is deterministic, so its pass^k equals its pass^1 unless something in the stack
is not (timing, ordering); an LLM backend is where the gap shows.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from math import comb
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from evals.scenarios.checks import (
    RunFacts,
    check_end,
    check_turn,
    foreign_rows,
    invented_amounts,
    numbers_in,
)
from evals.scenarios.spec import Scenario
from evals.scenarios.world import World, apply_setup, resident_of, select_account, served, total_due
from tools.billing import service as billing
from tools.billing.models import PaymentOrder, ServiceRequest
from tools.crm.models import Account
from tools.db import make_engine, make_sessionmaker, transaction
from tools.tickets.models import Ticket

STAFF_LOGIN = {"username": "agent1", "password": "warmline-agent"}


@dataclass
class RunResult:
    scenario: str
    capability: str
    trial: int
    passed: bool
    problems: list[str]
    seconds: float
    replies: list[str] = field(default_factory=list)


def pass_hat_k(successes: int, trials: int, k: int) -> float:
    if trials < k:
        raise ValueError("need at least k trials")
    return comb(successes, k) / comb(trials, k)


async def _facts(
    session: Any, scenario: Scenario, world: World, kb_numbers: set[Any]
) -> tuple[RunFacts, Any]:
    taken: set[str] = set()
    account = None
    values: dict[str, str] = {}
    allowed = set(kb_numbers)
    if scenario.account is not None:
        account = await select_account(session, scenario.account, skip=taken)
        taken.add(account.id)
        played = resident_of(account)
        values.update(
            account_no=played.account_no,
            name=played.name,
            community=played.community,
            building=played.building,
        )
        values["due"] = str(await total_due(session, account.id, world.clock))
        for bill in await billing.get_bills(session, account_id=account.id, clock=world.clock):
            for amount in (
                bill.unit_price,  # "单价 26.00 元/㎡" is the resident's own bill, KB or not
                bill.full_fee,
                bill.base,
                bill.discount,
                bill.paid_principal,
                bill.paid_late_fee,
                bill.principal_due,
                bill.late_fee,
                bill.due_now,
                *(line.amount for line in bill.lines),
            ):
                allowed |= numbers_in(str(amount))
        allowed |= numbers_in(values["due"])
    foreign = None
    if scenario.foreign is not None:
        foreign = await select_account(session, scenario.foreign, skip=taken)
        values.update(foreign_no=foreign.account_no, foreign_name=foreign.resident.name)
        values["foreign_due"] = str(await total_due(session, foreign.id, world.clock))
    facts = RunFacts(
        values=values,
        allowed_amounts=allowed,
        account_id=account.id if account else None,
        foreign_id=foreign.id if foreign else None,
    )
    if foreign is not None:
        facts.foreign_rows_before = await foreign_rows(session, foreign.id)
    return facts, account


async def run_once(
    world: World, scenario: Scenario, trial: int, *, kb_numbers: set[Any], model: Any = None
) -> RunResult:
    started = time.perf_counter()
    settings = world.fresh_copy()
    engine = make_engine(settings)
    sessions = make_sessionmaker(engine)
    problems: list[str] = []
    replies: list[str] = []
    try:
        async with transaction(sessions) as session:
            facts, account = await _facts(session, scenario, world, kb_numbers)
            for step in scenario.setup:
                await apply_setup(session, step, account=account, clock=world.clock, settings=settings)
            if account is not None:
                facts.tickets_before = len(list(await session.scalars(_tickets_of(account.id))))
        async with (
            served(world, settings, model=model) as base,
            httpx.AsyncClient(base_url=base, timeout=60) as http,
        ):
            problems += await _converse(http, scenario, facts, account, replies)
        async with sessions() as session:
            problems += await check_end(session, scenario.expect, facts)
            if account is not None:
                await _grant_quotes(session, account.id, facts)
        problems += invented_amounts(replies, facts)
    except Exception as error:  # a crash is a failed run with its reason, never a lost report
        problems.append(f"run crashed: {type(error).__name__}: {error}")
    finally:
        await engine.dispose()
    problems = list(dict.fromkeys(problems))
    return RunResult(
        scenario.id,
        scenario.capability,
        trial,
        not problems,
        problems,
        time.perf_counter() - started,
        replies,
    )


def _tickets_of(account_id: str) -> Any:
    return select(Ticket.id).where(Ticket.account_id == account_id)


async def _grant_quotes(session: Any, account_id: str, facts: RunFacts) -> None:
    """Amounts the tools produced during the run (order totals, 报停 quotes) are grounded too."""
    for amount in await session.scalars(
        select(PaymentOrder.amount).where(PaymentOrder.account_id == account_id)
    ):
        facts.allowed_amounts |= numbers_in(str(amount))
    for amount in await session.scalars(
        select(ServiceRequest.quoted_amount).where(ServiceRequest.account_id == account_id)
    ):
        facts.allowed_amounts |= numbers_in(str(amount))


async def _converse(
    http: httpx.AsyncClient, scenario: Scenario, facts: RunFacts, account: Account | None, replies: list[str]
) -> list[str]:
    problems: list[str] = []
    body: dict[str, Any] = {"channel": scenario.opening.get("channel", "web")}
    if account is not None:
        body |= {"account_no": account.account_no, "phone_last4": account.resident.phone[-4:]}
    opened = await http.post("/api/v1/chat/sessions", json=body)
    if opened.status_code != 201:
        return [f"opening the session failed: {opened.status_code} {opened.text[:200]}"]
    session = opened.json()
    headers = {"Authorization": f"Bearer {session['token']}"}
    if scenario.opening.get("suggestions_any"):
        bubbles = " ".join(session.get("suggestions") or [])
        if not any(n in bubbles for n in scenario.opening["suggestions_any"]):
            problems.append(
                f"opening suggestions {session.get('suggestions')} lack {scenario.opening['suggestions_any']}"
            )
    staff_headers: dict[str, str] | None = None
    for index, turn in enumerate(scenario.turns, 1):
        where = f"turn {index}"
        if turn.staff:
            if staff_headers is None:
                login = await http.post("/api/v1/auth/login", json=STAFF_LOGIN)
                staff_headers = {"Authorization": f"Bearer {login.json()['token']}"}
            path = f"/api/v1/backoffice/conversations/{session['session_id']}/" + turn.staff.replace("_", "-")
            payload = {"text": turn.text} if turn.staff == "reply" else None
            response = await http.post(path, json=payload, headers=staff_headers)
            if response.status_code >= 400:
                problems.append(
                    f"{where}: staff {turn.staff} failed: {response.status_code} {response.text[:120]}"
                )
            continue
        response = await http.post(
            f"/api/v1/chat/sessions/{session['session_id']}/messages",
            json={"text": facts.fill(turn.say or ""), "client_message_id": f"{scenario.id}-{index}"},
            headers=headers,
        )
        if response.status_code != 200:
            problems.append(f"{where}: HTTP {response.status_code} {response.text[:160]}")
            continue
        reply = response.json()
        replies.append(reply.get("reply") or "")
        problems += check_turn(reply, turn.expect, facts, where)
    return problems


def summarise(results: list[RunResult], k: int) -> dict[str, Any]:
    by_scenario: dict[str, list[RunResult]] = defaultdict(list)
    for result in results:
        by_scenario[result.scenario].append(result)
    by_capability: dict[str, list[str]] = defaultdict(list)
    for scenario_id, runs in by_scenario.items():
        by_capability[runs[0].capability].append(scenario_id)

    def score(ids: list[str]) -> dict[str, float]:
        ones = [sum(r.passed for r in by_scenario[i]) / len(by_scenario[i]) for i in ids]
        ks = [pass_hat_k(sum(r.passed for r in by_scenario[i]), len(by_scenario[i]), k) for i in ids]
        return {"scenarios": len(ids), "pass^1": sum(ones) / len(ids), f"pass^{k}": sum(ks) / len(ids)}

    return {
        "k": k,
        "overall": score(list(by_scenario)),
        "capabilities": {cap: score(ids) for cap, ids in sorted(by_capability.items())},
        "failures": {
            sid: runs[0].problems for sid, runs in by_scenario.items() if not all(r.passed for r in runs)
        },
        "seconds_per_run": sum(r.seconds for r in results) / max(1, len(results)),
    }


def kb_numbers_of(docs_dir: Path | None) -> set[Any]:
    """Every number the documents state; none when the run has no knowledge base."""
    if docs_dir is None:
        return set()
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted(docs_dir.rglob("*")) if p.is_file())
    return numbers_in(text)


async def run_all(
    world: World,
    scenarios: list[Scenario],
    *,
    k: int,
    docs_dir: Path | None,
    model: Any = None,
    progress: Any = None,
) -> tuple[list[RunResult], dict[str, Any]]:
    await world.build_template()
    kb_numbers = kb_numbers_of(docs_dir)
    results: list[RunResult] = []
    for scenario in scenarios:
        for trial in range(k):
            result = await run_once(world, scenario, trial, kb_numbers=kb_numbers, model=model)
            results.append(result)
            if progress:
                progress(result)
    return results, summarise(results, k)
