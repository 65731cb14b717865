"""The retention purge as a standing job: chat content past ``WARMLINE_RETENTION_DAYS`` goes.

Three stores hold a resident's words: the business database (``tools.retention``, ``kb.retention``),
the uploads folder, and the LangGraph checkpoints (the agent's own store, which only this top
layer may reach). Files and checkpoints are removed *before* the database transaction commits:
if the commit then fails, rows of already-expired content point at nothing and the next run
purges them; the other order could leave photos or transcripts behind for good.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from backoffice.jobs import SETTLE_AFTER_START, Job
from kb.retention import purge_learning
from tools.db import transaction
from tools.retention import purge_expired, remove_uploads
from tools.settings import Settings

if TYPE_CHECKING:
    from backoffice.deps import AppServices

RETENTION_EVERY = timedelta(hours=6)


async def forget_threads(settings: Settings, thread_ids: Iterable[str]) -> int:
    """Delete the checkpoints (every saved step of the graph state) of these conversation threads."""
    ids = sorted(set(thread_ids))
    if not ids:
        return 0
    from agent.checkpoints import make_checkpointer

    async with make_checkpointer(settings) as saver:
        for thread_id in ids:
            await saver.adelete_thread(thread_id)
    return len(ids)


async def purge_job(services: AppServices) -> dict[str, Any] | None:
    settings, clock = services.settings, services.clock
    async with transaction(services.sessions) as session:
        report = await purge_expired(session, clock=clock, retention_days=settings.retention_days)
        learned = await purge_learning(session, cutoff=report.cutoff)
        threads = await forget_threads(settings, report.threads)
        files = await asyncio.to_thread(
            remove_uploads,
            settings.uploads_dir,
            report.files,
            clock=clock,
            retention_days=settings.retention_days,
        )
    counts = {**report.counts(), **learned, "threads": threads, "files": files}
    return counts if any(counts.values()) else None


def retention_jobs() -> list[Job]:
    return [Job("retention_purge", RETENTION_EVERY, purge_job, SETTLE_AFTER_START)]
