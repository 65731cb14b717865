"""One turn at a time per conversation.

Two messages from one resident must not run two graph turns at once (they would fork the
checkpoint and answer out of order). In-process locks suffice for the embedded profile; with Redis
configured the lock is held in Redis so it also holds across API workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator
from typing import Any


class TurnLocks:
    def __init__(self, redis_url: str | None = None, *, timeout_s: float = 120.0) -> None:
        self._local: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._timeout = timeout_s
        self._redis: Any = None
        if redis_url:
            import redis.asyncio as redis

            self._redis = redis.from_url(redis_url)

    @contextlib.asynccontextmanager
    async def hold(self, conversation_id: str) -> AsyncIterator[None]:
        lock = self._local.get(conversation_id)
        if lock is None:
            lock = asyncio.Lock()
            self._local[conversation_id] = lock
        async with lock:
            if self._redis is None:
                yield
                return
            # The lock expires after the timeout so a crashed worker cannot block a resident forever.
            shared = self._redis.lock(
                f"warmline:turn:{conversation_id}", timeout=self._timeout, blocking_timeout=self._timeout
            )
            acquired = await shared.acquire()
            if not acquired:
                raise TimeoutError(f"conversation {conversation_id} is busy")
            try:
                yield
            finally:
                with contextlib.suppress(Exception):
                    await shared.release()

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
