import asyncio
import uuid
from datetime import timedelta

import pytest
import redis

from backoffice.deps import make_services
from backoffice.jobs import Job, Scheduler


def _redis_available() -> bool:
    try:
        return bool(redis.Redis(host="127.0.0.1", port=6379, socket_timeout=1).ping())
    except redis.RedisError:
        return False


async def test_a_failing_job_does_not_stop_the_others(settings, clock) -> None:
    services = make_services(settings, clock=clock)
    ran: list[str] = []

    async def boom(_services) -> None:
        ran.append("boom")
        raise RuntimeError("broken job")

    async def fine(_services) -> int:
        ran.append("fine")
        return 1

    scheduler = Scheduler(
        services, [Job("boom", timedelta(seconds=60), boom), Job("fine", timedelta(seconds=60), fine)]
    )
    scheduler.start()
    await asyncio.sleep(0.05)
    await scheduler.stop()
    await services.engine.dispose()
    assert sorted(ran) == ["boom", "fine"]


@pytest.mark.skipif(not _redis_available(), reason="needs Redis at 127.0.0.1:6379")
async def test_two_workers_sharing_redis_run_a_slot_once(settings, clock) -> None:
    shared = settings.model_copy(update={"redis_url": "redis://127.0.0.1:6379/0"})
    runs: list[int] = []
    name = f"test-{uuid.uuid4().hex}"

    async def count(_services) -> None:
        runs.append(1)

    job = Job(name, timedelta(seconds=30), count)
    first = Scheduler(make_services(shared, clock=clock), [job])
    second = Scheduler(make_services(shared, clock=clock), [job])
    await asyncio.gather(*(scheduler.run_once(job) for scheduler in (first, second) for _ in range(5)))
    for scheduler in (first, second):
        await scheduler.stop()
        await scheduler.services.engine.dispose()
    assert runs == [1]
