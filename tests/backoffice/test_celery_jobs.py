"""The Celery job engine on the machine's real Redis: tasks go through the broker to a worker and do
the same job's work in the database; beat schedules every standing job at its in-process interval.

Each test uses Redis database 9 and a queue of its own, so runs never see each other's messages.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
import redis
from celery.beat import Service
from celery.contrib.testing.worker import start_worker
from sqlalchemy import select

from backoffice.celery_app import beat_schedule, make_celery_app, task_name
from backoffice.jobs import Job, default_jobs, runs_in_api_process
from tools.conversations.closing import AUTO_CLOSE_ACTOR
from tools.conversations.models import Conversation
from tools.conversations.service import append_message, open_conversation
from tools.settings import Settings

REDIS_URL = "redis://127.0.0.1:6379/9"


def _redis_available() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping())
    except redis.RedisError:
        return False


needs_redis = pytest.mark.skipif(not _redis_available(), reason="needs Redis at 127.0.0.1:6379")


@pytest.fixture
def queue() -> Iterator[str]:
    """A queue of this test's own; its kombu bookkeeping keys are removed afterwards."""
    name = f"warmline-test-{uuid.uuid4().hex}"
    yield name
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"*{name}*"):
        client.delete(key)
    client.close()


def _celery_settings(settings: Settings, **changes) -> Settings:
    return settings.model_copy(update={"redis_url": REDIS_URL, "job_engine": "celery", **changes})


def test_the_beat_schedule_is_every_standing_job_at_its_own_interval(settings) -> None:
    jobs = default_jobs()
    app = make_celery_app(_celery_settings(settings), jobs=jobs)
    schedule = app.conf.beat_schedule
    assert set(schedule) == {job.name for job in jobs} and "conversation_auto_close" in schedule
    for job in jobs:
        entry = schedule[job.name]
        assert entry["schedule"] == job.every and entry["task"] in app.tasks
        assert entry["options"]["expires"] == max(1.0, job.every.total_seconds())


def test_only_the_embedded_inprocess_profile_runs_jobs_in_the_api(settings) -> None:
    assert runs_in_api_process(settings)
    assert not runs_in_api_process(settings.model_copy(update={"redis_url": REDIS_URL}))
    assert not runs_in_api_process(settings.model_copy(update={"job_engine": "celery"}))
    with pytest.raises(ValueError, match="WARMLINE_REDIS_URL"):
        make_celery_app(settings.model_copy(update={"job_engine": "celery"}))
    with pytest.raises(ValueError):
        Settings(_env_file=None, job_engine="rq")  # type: ignore[call-arg]


@needs_redis
def test_a_task_sent_through_the_broker_auto_closes_an_idle_conversation(
    settings, sessions, clock, queue
) -> None:
    async def plant() -> str:
        async with sessions() as session, session.begin():
            conversation = await open_conversation(session, channel="web", clock=clock)
            await append_message(
                session, conversation=conversation, sender="resident", text="暖气不热", clock=clock
            )
        return conversation.id

    conversation_id = asyncio.run(plant())
    clock.advance(timedelta(hours=5))
    app = make_celery_app(
        _celery_settings(settings, conversation_auto_close_hours=4),
        clock=clock,
        queue=queue,
        result_backend=REDIS_URL,
    )
    task = app.tasks[task_name(next(j for j in default_jobs() if j.name == "conversation_auto_close"))]
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            result = task.delay()
            assert result.get(timeout=30) == {"closed": 1, "kb_proposals": 0}
            assert result.successful()
            result.forget()
    finally:
        app.warmline_runtime.close()

    async def read() -> Conversation:
        async with sessions() as session:
            return await session.scalar(select(Conversation).where(Conversation.id == conversation_id))

    closed = asyncio.run(read())
    assert (
        closed.status == "closed" and closed.closed_by == AUTO_CLOSE_ACTOR and closed.closed_at == clock.now()
    )


@needs_redis
def test_beat_enqueues_a_job_at_its_interval_and_a_worker_runs_the_same_coroutine(
    settings, tmp_path, queue
) -> None:
    runs: list[str] = []
    ran = threading.Event()

    async def tick(services) -> dict[str, int]:
        runs.append(services.settings.job_engine)
        if len(runs) >= 2:
            ran.set()
        return {"ticks": len(runs)}

    app = make_celery_app(
        _celery_settings(settings),
        jobs=[Job("tick", timedelta(seconds=1), tick)],
        queue=queue,
    )
    assert beat_schedule([Job("tick", timedelta(seconds=1), tick)])["tick"]["task"] == "warmline.job.tick"
    beat = Service(app, max_interval=0.2, schedule_filename=str(tmp_path / "beat-schedule"))
    thread = threading.Thread(target=beat.start, daemon=True)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            thread.start()
            assert ran.wait(15), f"beat ran the job {len(runs)} times"
    finally:
        beat.stop()
        thread.join(5)
        app.warmline_runtime.close()
    assert runs[:2] == ["celery", "celery"]
