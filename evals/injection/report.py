"""``warmline eval injection``: the injection corpus and extraction suite against a fresh company.

The composition root (backoffice/cli.py) passes in the app factory and the migration step, so this
package stays below the back office. The company is the demo one plus the canary world, in a
temporary directory; the chat API is spoken to in-process through httpx's ASGI transport.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx

from agent.classify import make_classifier
from evals.injection.corpus import build_corpus, build_extraction, stratified_sample
from evals.injection.hostile import HostileModel
from evals.injection.runner import CaseResult, InjectionEnv, run_cases, summarise
from evals.injection.world import seed_world
from evals.scenarios.world import DEMO_DOCS, SCENARIO_NOW
from kb.embeddings import make_embedder
from kb.ingest import ingest_paths
from kb.retriever import KnowledgeBase, make_chroma_client
from tools.clock import FixedClock
from tools.db import make_engine, make_sessionmaker, transaction
from tools.demo.seed import seed_demo
from tools.logging import configure_logging
from tools.settings import Settings

AppFactory = Callable[..., Any]
Migrate = Callable[[Settings], None]
COLUMNS = (
    "cases",
    "exercised",
    "delivered",
    "refused_calls",
    "leaks",
    "foreign_rows",
    "unauthorised_writes",
    "prompt_leaks",
    "blocked",
    "handoffs",
)


@contextlib.asynccontextmanager
async def injection_env(
    root: Path,
    *,
    make_app: AppFactory,
    migrate: Migrate,
    kb: KnowledgeBase | None = None,
    base: Settings | None = None,
) -> AsyncIterator[InjectionEnv]:
    """A migrated demo company with the canary world under ``root``, served with the hostile model."""
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=root / "data",
        database_url=f"sqlite:///{root / 'injection.db'}",
        log_json=False,
        log_level="ERROR",
        prompt_canary=f"wl-{secrets.token_hex(8)}",
        embedding_model_dir=base.embedding_model_dir if base else None,
    )
    clock = FixedClock(SCENARIO_NOW)
    migrate(settings)
    engine = make_engine(settings)
    sessions = make_sessionmaker(engine)
    try:
        async with transaction(sessions) as session:
            await seed_demo(session, clock=clock)
            facts = await seed_world(session, clock=clock, settings=settings)
        if kb is None:
            kb = KnowledgeBase(
                client=make_chroma_client(path=str(root / "chroma")),
                embedder=make_embedder(settings.embedding_model_dir),
            )
            async with transaction(sessions) as session:
                await ingest_paths(session, [DEMO_DOCS], kb=kb, clock=clock, actor="eval")
        hostile = HostileModel()
        app = make_app(
            settings, clock=clock, run_jobs=False, kb=kb, model=hostile, classifier=make_classifier()
        )
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://eval") as client:
                yield InjectionEnv(client, sessions, kb, clock, hostile, facts, settings.prompt_canary)
    finally:
        await engine.dispose()


def format_table(summary: dict[str, Any]) -> str:
    lines = ["| cell | " + " | ".join(COLUMNS) + " |", "|---|" + "---|" * len(COLUMNS)]
    order = sorted(
        summary["cells"], key=lambda key: (key.startswith("goal/"), not key.startswith("injection/"), key)
    )
    for key in order:
        row = summary["cells"][key]
        lines.append(f"| {key} | " + " | ".join(str(row[c]) for c in COLUMNS) + " |")
    overall = summary["overall"]
    lines.append("| **overall** | " + " | ".join(str(overall[c]) for c in COLUMNS) + " |")
    return "\n".join(lines)


async def run_cli(
    *,
    settings: Settings,
    make_app: AppFactory,
    migrate: Migrate,
    sample: int | None = None,
    extraction: bool = True,
    json_path: Path | None = None,
    echo: Callable[[str], None] = print,
) -> dict[str, Any]:
    configure_logging(level="ERROR", json=False)  # refused calls are logged per call: thousands here
    cases = build_corpus()
    attempts = build_extraction() if extraction else []
    if sample:
        cases = stratified_sample(cases, sample)
        attempts = stratified_sample(attempts, max(1, sample * 2 // 3)) if attempts else []

    def progress(result: CaseResult) -> None:
        if not result.passed:
            echo(
                f"✗ {result.id}: leaks={result.leaks} foreign={result.foreign_changed} "
                f"writes={result.unauthorised_writes} prompt={result.prompt_leak} {result.problems}"
            )

    with tempfile.TemporaryDirectory(prefix="warmline-injection-") as tmp:
        async with injection_env(Path(tmp), make_app=make_app, migrate=migrate, base=settings) as env:
            results = await run_cases(env, cases + attempts, progress=progress)
    summary = summarise(results)
    echo(format_table(summary))
    overall = summary["overall"]
    echo(
        f"\n{overall['cases']} cases ({len(cases)} injection, {len(attempts)} extraction): "
        f"leaks {overall['leaks']}, foreign rows {overall['foreign_rows']}, "
        f"unauthorised writes {overall['unauthorised_writes']}, prompt leaks {overall['prompt_leaks']} "
        f"({summary['seconds']}s)"
    )
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(summary, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    return summary
