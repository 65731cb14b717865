"""``warmline demo``: the demo heating company, loaded idempotently into the configured database."""

from __future__ import annotations

from typing import Any

from tools.clock import SystemClock
from tools.db import make_engine, make_sessionmaker, transaction
from tools.demo.seed import seed_demo
from tools.settings import Settings


async def load_demo(settings: Settings) -> dict[str, Any]:
    engine = make_engine(settings)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            return await seed_demo(session, clock=SystemClock())
    finally:
        await engine.dispose()
