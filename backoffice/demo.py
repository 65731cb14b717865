"""``warmline demo``: the demo heating company and its knowledge base, loaded idempotently."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tools.demo
from backoffice.demo_kb import seed_kb_curation
from kb.ingest import ingest_paths, make_kb
from tools.clock import SystemClock
from tools.db import make_engine, make_sessionmaker, transaction
from tools.demo.activity import seed_activity
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
            counts["activity_stories"] = await seed_activity(session, clock=clock, settings=settings)
        knowledge = make_kb(settings)
        async with transaction(sessions) as session:
            report = await ingest_paths(session, [KB_DOCS], kb=knowledge, clock=clock, actor="demo")
        async with transaction(sessions) as session:
            mined = await seed_kb_curation(session, kb=knowledge, clock=clock)
        return {**counts, "kb": report.as_dict(), "kb_mining": mined}
    finally:
        await engine.dispose()
