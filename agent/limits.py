"""Per-conversation message rate limit: a flood from one resident cannot starve the others.

The window counts *distinct* platform message ids, so WeChat's retries of one MsgId (up to four
pushes) never push a resident over the limit. With Redis configured the window is a sorted set
shared by every API worker; in the embedded profile it lives in this process.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
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
