"""Limits: a per-conversation message rate (a flood from one resident cannot starve the others)
and the turn gate (how many turns work at once in this process).

The window counts *distinct* platform message ids, so WeChat's retries of one MsgId (up to four
pushes) never push a resident over the limit. With Redis configured the window is a sorted set
shared by every API worker; in the embedded profile it lives in this process.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from tools.errors import RateLimited

WINDOW_S = 60.0
MAX_TRACKED = 50_000  # conversations remembered in-process before the oldest are forgotten


class MessageRateLimiter:
    def __init__(self, per_minute: int, redis_url: str | None = None) -> None:
        self._limit = per_minute
        self._local: OrderedDict[str, dict[str, float]] = OrderedDict()
        self._redis: Any = None
        if redis_url:
            import redis.asyncio as redis

            self._redis = redis.from_url(redis_url)

    async def admit(self, conversation_id: str, message_id: str | None, *, now: float | None = None) -> None:
        """Record the message, or raise ``RateLimited`` (nothing is stored for a refused one)."""
        now = time.time() if now is None else now
        member = message_id or uuid.uuid4().hex
        count = (
            await self._admit_redis(conversation_id, member, now)
            if self._redis is not None
            else self._admit_local(conversation_id, member, now)
        )
        if count > self._limit:
            raise RateLimited("您发送得太快了，请稍等一分钟再发；紧急情况（如跑水）请直接拨打热线电话。")

    def _admit_local(self, conversation_id: str, member: str, now: float) -> int:
        window = self._local.pop(conversation_id, {})
        self._local[conversation_id] = window
        for key in [key for key, at in window.items() if at <= now - WINDOW_S]:
            del window[key]
        if member in window or len(window) < self._limit:
            window[member] = now
        else:
            return self._limit + 1
        while len(self._local) > MAX_TRACKED:
            self._local.popitem(last=False)
        return len(window)

    async def _admit_redis(self, conversation_id: str, member: str, now: float) -> int:
        key = f"warmline:rate:{conversation_id}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(key, 0, now - WINDOW_S)
            pipe.zscore(key, member)
            pipe.zcard(key)
            _, seen, count = await pipe.execute()
        if seen is not None:
            return int(count)
        if count >= self._limit:
            return int(count) + 1
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(key, {member: now})
            pipe.expire(key, int(WINDOW_S) + 5)
            pipe.zcard(key)
            *_, count = await pipe.execute()
        if count > self._limit:  # a concurrent admit took the last place first
            await self._redis.zrem(key, member)
        return int(count)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()


@dataclass
class _Slot:
    gate: TurnGate
    held: bool = True


_current_slot: ContextVar[_Slot | None] = ContextVar("warmline_turn_slot", default=None)


class TurnGate:
    """At most ``size`` turns do their CPU and database work at once; the others wait here.

    Without it the midnight surge queued in the database pool instead, whose 30 s timeout turned
    the wait into 500s and lost late WeChat replies (evals/load/run.py, 1,000 residents). A turn
    steps out while it awaits a remote model (``stepped_out``): those seconds are the endpoint's,
    not this process's. A turn stepping back in goes before turns that have not started, so
    admitted work finishes first.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._free = size
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        await self._acquire(priority=1)
        slot = _Slot(self)
        token = _current_slot.set(slot)
        try:
            yield
        finally:
            _current_slot.reset(token)
            if slot.held:
                self._release()

    async def _acquire(self, *, priority: int) -> None:
        if self._free > 0:  # a free slot means nobody waits: a release hands slots to waiters first
            self._free -= 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (priority, next(self._order), future))
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self._release()  # granted just as it was cancelled: pass the slot on
            raise

    def _release(self) -> None:
        while self._waiting:
            *_, future = heapq.heappop(self._waiting)
            if not future.done():
                future.set_result(None)  # the slot passes straight to the next waiter
                return
        self._free += 1


@contextlib.asynccontextmanager
async def stepped_out() -> AsyncIterator[None]:
    """Leave the current turn's slot while awaiting something slow that is not our CPU."""
    slot = _current_slot.get()
    if slot is None or not slot.held:
        yield
        return
    slot.held = False
    slot.gate._release()
    try:
        yield
    finally:
        await slot.gate._acquire(priority=0)
        slot.held = True
