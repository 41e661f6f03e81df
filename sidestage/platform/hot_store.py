"""The connection to Redis, shared by everything hot in one process.

``SIDESTAGE_REDIS_URL`` names one Redis (``redis://host:6379/0``) or the Sentinels that
watch a primary and its replicas: ``redis+sentinel://[:password@]host1:26379,host2:26379/
<db>/<service>``, the form python-socketio reads for its own connection too. Through
Sentinel, every new connection asks for the current primary, so after a failover the
clients reconnect to the promoted replica by themselves.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.sentinel import Sentinel

from sidestage.platform.errors import ConfigurationError

# redis-py's default pool refuses a command past 100 connections in use ("Too many
# connections"), which 200 people voting in the same second on one process reach. A
# blocking pool makes a burst queue for a connection instead; each command holds one
# for well under a millisecond, so the wait is short and nothing is refused.
MAX_CONNECTIONS = 50
WAIT_FOR_CONNECTION = 10.0  # seconds, then the command fails as Redis being unreachable
SENTINEL_SCHEME = "redis+sentinel"
# Through Sentinel the pool cannot block; it may hold more connections instead.
MAX_SENTINEL_CONNECTIONS = 500
CONNECT_TIMEOUT = 5.0  # seconds to reach Redis (or a Sentinel) before giving up


def connect_redis(url: str) -> Redis:
    if urlsplit(url).scheme == SENTINEL_SCHEME:
        return _through_sentinel(url)
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=MAX_CONNECTIONS,
        timeout=WAIT_FOR_CONNECTION,
        socket_connect_timeout=CONNECT_TIMEOUT,
    )
    return Redis.from_pool(pool)  # closing the client closes its pool


def _through_sentinel(url: str) -> Redis:
    sentinels, service, db, password = parse_sentinel_url(url)
    watch = Sentinel(
        sentinels,
        sentinel_kwargs={"socket_connect_timeout": CONNECT_TIMEOUT},
        socket_connect_timeout=CONNECT_TIMEOUT,
    )
    return watch.master_for(
        service, db=db, password=password, max_connections=MAX_SENTINEL_CONNECTIONS
    )


def parse_sentinel_url(url: str) -> tuple[list[tuple[str, int]], str, int, str | None]:
    """(sentinels, service, database, password) of a ``redis+sentinel://`` URL."""
    parts = urlsplit(url)
    hosts = parts.netloc.rsplit("@", 1)[-1]
    password = unquote(parts.password) if parts.password else None
    path = [piece for piece in parts.path.split("/") if piece]
    try:
        sentinels = [
            (host, int(port)) for host, port in (a.rsplit(":", 1) for a in hosts.split(","))
        ]
        db, service = int(path[0]), path[1]
    except (ValueError, IndexError):
        raise ConfigurationError(
            f"SIDESTAGE_REDIS_URL: write {SENTINEL_SCHEME}://host:port[,host:port]/db/service"
        ) from None
    return sentinels, service, db, password
