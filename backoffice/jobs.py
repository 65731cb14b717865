"""Periodic jobs: outbox delivery, reminders, SLA scans, auto-close, KB mining and notice expiry.

``default_jobs`` is the one list of jobs; two engines run it. In-process (``job_engine=inprocess``):
this scheduler, inside the API process in the embedded profile (started by the app lifespan), or
in ``warmline worker`` when Redis is configured, where each run takes a Redis lock named after the
job so several workers (or a restarted one) never run a job twice in the same slot. Celery
(``job_engine=celery``): backoffice/celery_app.py turns each job into a task and its interval into
a beat entry. A failing job is logged and retried at its next slot; it never stops the others.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from tools.logging import get_logger

if TYPE_CHECKING:
    from backoffice.deps import AppServices
    from channels.delivery import OutboxDelivery
    from kb.retriever import KnowledgeBase
    from tools.settings import Settings

log = get_logger(__name__)

JobFn = Callable[["AppServices"], Awaitable[Any]]


# Heavy batch jobs (mining clusters questions with jieba and embeddings) wait this long after a
# start before their first run: a restart during the surge must serve residents first. Measured by
# evals/bench_wechat: with mining running at boot, the first 20 pushes' passive answers were 0.8 s late.
SETTLE_AFTER_START = timedelta(minutes=2)


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    run: JobFn
    first_after: timedelta = timedelta(0)  # delay of the first run after the scheduler starts


class JobLock:
    """Cross-process mutual exclusion for one job slot; a no-op in the embedded profile."""

    def __init__(self, redis_url: str | None) -> None:
        self._redis: Any = None
        if redis_url:
            import redis.asyncio as redis

            self._redis = redis.from_url(redis_url)

    async def acquire(self, name: str, ttl: timedelta) -> bool:
        if self._redis is None:
            return True
        ms = max(1000, int(ttl.total_seconds() * 1000) - 500)
        return bool(await self._redis.set(f"warmline:job:{name}", "1", nx=True, px=ms))

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()


class Scheduler:
    def __init__(self, services: AppServices, jobs: list[Job]) -> None:
        self.services = services
        self.jobs = jobs
        self._lock = JobLock(services.settings.redis_url)
        self._tasks: list[asyncio.Task[None]] = []

    async def run_once(self, job: Job) -> Any:
        if not await self._lock.acquire(job.name, job.every):
            return None
        try:
            result = await job.run(self.services)
        except Exception:
            log.exception("job_failed", job=job.name)
            return None
        if result:
            log.info("job_done", job=job.name, result=result)
        return result

    async def _loop(self, job: Job) -> None:
        await asyncio.sleep(job.first_after.total_seconds())
        while True:
            await self.run_once(job)
            await asyncio.sleep(job.every.total_seconds())

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._loop(job), name=f"job:{job.name}") for job in self.jobs]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self._lock.close()


async def sla_scan_job(services: AppServices) -> dict[str, int] | None:
    """Alert tickets that missed (or are about to miss) their on-site SLA, once each."""
    from tools.db import transaction
    from tools.tickets.sla import scan_sla

    async with transaction(services.sessions) as session:
        scan = await scan_sla(session, clock=services.clock, settings=services.settings)
    return {"breached": len(scan.breached), "at_risk": len(scan.at_risk)} if scan else None


def runs_in_api_process(settings: Settings) -> bool:
    """Embedded profile only: with Redis, ``warmline worker`` runs the jobs; with Celery, never the API."""
    return settings.job_engine == "inprocess" and settings.redis_url is None


def default_jobs(*, delivery: OutboxDelivery | None = None, kb: KnowledgeBase | None = None) -> list[Job]:
    """The company's standing jobs. Each entry wraps a service function in its own transaction.

    ``delivery``: the API process's outbox delivery, so its job shares the WeChat token cache.
    ``kb``: the API process's knowledge base, shared by KB mining and notice expiry.
    """
    from backoffice.conversation_jobs import conversation_jobs
    from backoffice.delivery import delivery_job
    from backoffice.followup_jobs import followup_jobs
    from backoffice.kb_jobs import kb_jobs
    from backoffice.retention_jobs import retention_jobs

    return [
        delivery_job(delivery),
        Job("sla_scan", timedelta(minutes=1), sla_scan_job),
        *conversation_jobs(kb),
        *followup_jobs(),
        *kb_jobs(kb),
        *retention_jobs(),
    ]
