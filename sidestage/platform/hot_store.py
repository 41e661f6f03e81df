"""The connection to Redis, shared by everything hot in one process."""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis

# redis-py's default pool refuses a command past 100 connections in use ("Too many
# connections"), which 200 people voting in the same second on one process reach. A
# blocking pool makes a burst queue for a connection instead; each command holds one
# for well under a millisecond, so the wait is short and nothing is refused.
MAX_CONNECTIONS = 50
WAIT_FOR_CONNECTION = 10.0  # seconds, then the command fails as Redis being unreachable


def connect_redis(url: str) -> Redis:
    pool = BlockingConnectionPool.from_url(
        url, max_connections=MAX_CONNECTIONS, timeout=WAIT_FOR_CONNECTION
    )
    return Redis.from_pool(pool)  # closing the client closes its pool
