"""Per-key rate limits, in memory on one process or in Redis across many.

A fixed window per key: cheap, and good enough to stop password guessing and
floods; the window's remaining time is the client's retry-after.
"""

from __future__ import annotations

import math
import time
from typing import Protocol

from redis.asyncio import Redis


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: int, window: float) -> float | None:
        """Count one event; return seconds to wait if the limit is exceeded, else None."""
        ...


class MemoryRateLimiter:
    MAX_KEYS = 100_000

    def __init__(self) -> None:
        self._windows: dict[str, tuple[float, int]] = {}

    async def hit(self, key: str, limit: int, window: float) -> float | None:
        now = time.monotonic()
        started, count = self._windows.get(key, (now, 0))
        if now - started >= window:
            started, count = now, 0
        count += 1
        if len(self._windows) >= self.MAX_KEYS and key not in self._windows:
            self._forget_expired(now, window)
        self._windows[key] = (started, count)
        return started + window - now if count > limit else None

    def _forget_expired(self, now: float, window: float) -> None:
        self._windows = {k: v for k, v in self._windows.items() if now - v[0] < window}


class RedisRateLimiter:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def hit(self, key: str, limit: int, window: float) -> float | None:
        slot = math.floor(time.time() / window)
        name = f"sidestage:rl:{key}:{slot}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(name)
            pipe.expire(name, math.ceil(window) + 1)
            count, _ = await pipe.execute()
        if count > limit:
            return (slot + 1) * window - time.time()
        return None
