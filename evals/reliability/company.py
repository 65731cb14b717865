"""A seeded demo company for the fuzzers: the real app, on its own data dir, driven in-process.

Schemathesis drives ASGI apps from its own event-loop thread (and runs the app's lifespan there),
so this module builds everything synchronously: migrate, seed, then hand back an app whose
lifespan has not started. The app factory and the migration step come from the composition root
(``warmline eval fuzz`` or the tests), which keeps this package below the back office.

The rate and budget caps are opened wide: a fuzzer that hits 429 after twenty messages would
never reach the handlers it is meant to test (the caps have their own tests).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tools.clock import FixedClock
from tools.db import make_engine, make_sessionmaker, transaction
from tools.demo.seed import seed_demo
from tools.settings import Settings

# 2026-11-22 10:00 in Shanghai, a week into the heating season (the demo data's "now").
FUZZ_NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
ADMIN = ("admin", "warmline-admin")
DEMO_ACCOUNT = ("2026010001", "0001")

AppFactory = Callable[..., Any]
Migrate = Callable[[Settings], None]


@dataclass
class FuzzCompany:
    app: Any
    settings: Settings
    clock: FixedClock


def fuzz_settings(root: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": root / "data",
        "database_url": f"sqlite:///{root / 'warmline.db'}",
        "log_json": False,
        "log_level": "CRITICAL",  # thousands of rejected requests would drown the report
        "chat_rate_per_minute": 1_000_000,
        "auto_dispatch": False,
        "routing_time_limit_s": 0.2,  # dispatch runs are fuzzed too; the solver need not be good here
        "wechat_api_base": "http://127.0.0.1:9",  # nothing listens: a late reply fails fast, offline
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


async def _seed(settings: Settings, clock: FixedClock) -> None:
    engine = make_engine(settings)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            await seed_demo(session, clock=clock)
    finally:
        await engine.dispose()


def make_company(
    root: Path,
    *,
    make_app: AppFactory,
    migrate: Migrate,
    kb: Any = None,
    classifier: Any = None,
    model: Any = None,
    **overrides: Any,
) -> FuzzCompany:
    """Migrate and seed a fresh demo company under ``root``; returns its (not yet started) app."""
    root.mkdir(parents=True, exist_ok=True)
    settings = fuzz_settings(root, **overrides)
    clock = FixedClock(FUZZ_NOW)
    migrate(settings)
    asyncio.run(_seed(settings, clock))
    app = make_app(settings, clock=clock, run_jobs=False, kb=kb, classifier=classifier, model=model)
    return FuzzCompany(app=app, settings=settings, clock=clock)
