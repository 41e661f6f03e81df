"""Bursts of commands on one process all reach Redis (the scale test's lost vote)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from redis.asyncio import Redis
from redis.exceptions import MaxConnectionsError

from sidestage.platform.hot_store import MAX_CONNECTIONS, connect_redis
from sidestage.platform.ratelimit import RedisRateLimiter
from tests.conftest import REDIS_URL

BURST = 300  # commands at once, as when hundreds vote in the same second


async def burst(redis: Redis) -> list[float | None]:
    limiter, prefix = RedisRateLimiter(redis), uuid.uuid4().hex
    hits = (limiter.hit(f"test:burst:{prefix}:{n}", 5, 10.0) for n in range(BURST))
    return await asyncio.gather(*hits)


async def test_a_burst_larger_than_the_pool_waits_for_connections() -> None:
    redis = connect_redis(REDIS_URL)
    try:
        assert await burst(redis) == [None] * BURST
        assert redis.connection_pool.max_connections == MAX_CONNECTIONS < BURST
    finally:
        await redis.aclose()


async def test_redis_pys_default_pool_refuses_the_same_burst() -> None:
    """Why the pool above exists: the default one fails past 100 connections in use."""
    redis = Redis.from_url(REDIS_URL)
    try:
        with pytest.raises(MaxConnectionsError):
            await burst(redis)
    finally:
        await redis.aclose()
