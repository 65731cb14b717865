"""``warmline demo``: the demo heating company and its knowledge base, loaded idempotently."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tools.demo
from kb.ingest import ingest_paths, make_kb
from tools.clock import SystemClock
from tools.db import make_engine, make_sessionmaker, transaction
from tools.demo.seed import seed_demo
from tools.settings import Settings

KB_DOCS = Path(tools.demo.__file__).parent / "kb_docs"


async def load_demo(settings: Settings) -> dict[str, Any]:
    engine = make_engine(settings)
    clock = SystemClock()
    try:
        sessions = make_sessionmaker(engine)
        async with transaction(sessions) as session:
            counts = await seed_demo(session, clock=clock)
        async with transaction(sessions) as session:
            report = await ingest_paths(session, [KB_DOCS], kb=make_kb(settings), clock=clock, actor="demo")
        return {**counts, "kb": report.as_dict()}
    finally:
        await engine.dispose()
