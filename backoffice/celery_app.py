"""The Celery job engine (``WARMLINE_JOB_ENGINE=celery``, the distributed profile).

Every job of ``default_jobs()`` becomes a task ``warmline.job.<name>`` whose body runs the very
coroutine the in-process scheduler runs, and a beat entry enqueues it at the job's own interval.
So the two engines cannot drift: a job added to ``default_jobs`` is scheduled by both.

- ``warmline worker`` runs the Celery worker, ``warmline beat`` the one scheduler. Run exactly one
  beat: it is what makes each slot happen once (the in-process engine needs Redis locks because
  every worker runs its own scheduler; here the broker hands each message to one worker).
- Beat entries expire after one interval: after an outage the worker does not replay a backlog of
  stale slots (twenty outbox passes in a row), it runs the next one.
- The async engine, Redis clients and the WeChat token cache are bound to one event loop and must
  outlive a task, so each worker process runs one loop in a thread, started on the first task
  (after the prefork pool forked) and shared by all its tasks.
- Celery's own result backend is off: what a job did is in the database and the logs.
"""

from __future__ import annotations

import asyncio
import os
import threading
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from celery import Celery
from celery.signals import worker_process_shutdown, worker_shutdown

from backoffice.deps import AppServices, make_services
from backoffice.jobs import Job, default_jobs
from tools.logging import get_logger
from tools.settings import Settings

if TYPE_CHECKING:
    from tools.clock import Clock

log = get_logger(__name__)

TASK_PREFIX = "warmline.job."
QUEUE = "warmline-jobs"


def task_name(job: Job) -> str:
    return f"{TASK_PREFIX}{job.name}"


def beat_schedule(jobs: list[Job]) -> dict[str, dict[str, Any]]:
    """One beat entry per job, at the interval the in-process scheduler uses."""
    return {
        job.name: {
            "task": task_name(job),
            "schedule": job.every,
            "options": {"expires": max(1.0, job.every.total_seconds())},
        }
        for job in jobs
    }


class JobRuntime:
    """One worker process's services and event loop; tasks submit job coroutines to it."""

    def __init__(self, settings: Settings, *, jobs: list[Job], clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock
        self.jobs = {job.name: job for job in jobs}
        self._guard = threading.Lock()
        self._pid: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._services: AppServices | None = None

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._guard:
            if self._pid != os.getpid():
                # A forked child inherits the object but not the parent's loop thread: start afresh.
                self._loop = self._thread = self._services = None
                self._pid = os.getpid()
            if self._loop is None:
                loop = asyncio.new_event_loop()
                self._thread = threading.Thread(target=loop.run_forever, name="warmline-jobs", daemon=True)
                self._thread.start()
                self._loop = loop
            return self._loop

    def run(self, name: str, *, timeout: timedelta | None = None) -> Any:
        job = self.jobs[name]
        future = asyncio.run_coroutine_threadsafe(self._run(job), self._ensure_loop())
        return future.result(timeout.total_seconds() if timeout else None)

    async def _run(self, job: Job) -> Any:
        if self._services is None:
            self._services = make_services(self.settings, clock=self.clock)
        try:
            result = await job.run(self._services)
        except Exception:
            log.exception("job_failed", job=job.name, engine="celery")
            raise
        if result:
            log.info("job_done", job=job.name, engine="celery", result=result)
        return result

    def close(self) -> None:
        with self._guard:
            loop, services = self._loop, self._services
            if loop is None or self._pid != os.getpid():
                return
            if services is not None:
                asyncio.run_coroutine_threadsafe(services.engine.dispose(), loop).result(10)
            loop.call_soon_threadsafe(loop.stop)
            if self._thread is not None:
                self._thread.join(5)
            self._loop = self._thread = self._services = None


def make_celery_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    jobs: list[Job] | None = None,
    queue: str = QUEUE,
    result_backend: str | None = None,
) -> Celery:
    """Build the Celery app for these settings (composition root: ``warmline worker`` / ``beat``).

    ``jobs`` defaults to ``default_jobs()``; tests pass a clock, a private queue and a result backend.
    """
    broker = settings.celery_broker_url or settings.redis_url
    if not broker:
        raise ValueError("job_engine=celery needs WARMLINE_REDIS_URL (or WARMLINE_CELERY_BROKER_URL)")
    jobs = default_jobs() if jobs is None else jobs
    app = Celery("warmline", broker=broker, set_as_current=False)
    app.conf.update(
        task_default_queue=queue,
        task_ignore_result=result_backend is None,
        result_backend=result_backend,
        timezone=settings.timezone,
        enable_utc=True,
        beat_schedule=beat_schedule(jobs),
        beat_schedule_filename=str(settings.data_dir / "celerybeat-schedule"),
        worker_prefetch_multiplier=1,  # a long KB mining run must not hold outbox passes behind it
        worker_hijack_root_logger=False,  # tools.logging configured structlog already
        broker_connection_retry_on_startup=True,
    )
    runtime = JobRuntime(settings, jobs=jobs, clock=clock)
    app.warmline_runtime = runtime  # type: ignore[attr-defined]
    for job in jobs:
        app.task(name=task_name(job), shared=False)(_job_task(runtime, job.name))

    def shutdown(**_: Any) -> None:
        runtime.close()

    worker_process_shutdown.connect(shutdown, weak=False)
    worker_shutdown.connect(shutdown, weak=False)
    return app


def _job_task(runtime: JobRuntime, name: str) -> Any:
    def run_job() -> Any:
        return runtime.run(name)

    run_job.__name__ = run_job.__qualname__ = f"job_{name}"
    run_job.__doc__ = f"Run the {name} job once (the same coroutine the in-process scheduler runs)."
    return run_job


__all__ = ["JobRuntime", "beat_schedule", "make_celery_app", "task_name"]
