"""For those who run Sidestage: readiness for the load balancer, metrics for Prometheus.

``/healthz`` (in ``pages``) says the process lives; ``/readyz`` says whether it can serve
now, the database and Redis reached this moment. Neither reads who asks
(``keys.PROBE_PATHS``).
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Coroutine
from ipaddress import ip_address
from typing import Any

from aiohttp import web
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from sidestage.platform.errors import Forbidden
from sidestage.platform.metrics import CONTENT_TYPE
from sidestage.platform.outages import DATABASE, REDIS, RETRY_AFTER
from sidestage.web.keys import ENGINE, METRICS, SETTINGS
from sidestage.web.keys import REDIS as REDIS_KEY

PROBE_TIMEOUT = 2.0  # seconds each check may take: a load balancer asks every few seconds
# Checks that outlived their answer, held until they end (the loop keeps only weak ones).
LEFT_RUNNING = web.AppKey("probes_left_running", set)


def setup(app: web.Application) -> None:
    app[LEFT_RUNNING] = set()
    app.router.add_get("/readyz", ready)
    app.router.add_get("/metrics", metrics)


async def ready(request: web.Request) -> web.Response:
    """200 when the database (and Redis, if configured) answer now; else 503 naming what
    is down, so a load balancer sends people to a process that can serve them."""
    checks = {DATABASE: _database(request.app)}
    if REDIS_KEY in request.app:
        checks[REDIS] = _redis(request.app)
    left = request.app[LEFT_RUNNING]
    results = await asyncio.gather(*(_within(check, left) for check in checks.values()))
    state = {name: "ok" if up else "down" for name, up in zip(checks, results, strict=True)}
    down = [name for name, up in state.items() if up == "down"]
    if not down:
        return web.json_response({"ready": True, "checks": state})
    body = {"ready": False, "down": down, "checks": state}
    return web.json_response(body, status=503, headers={"Retry-After": str(RETRY_AFTER)})


async def _within(check: Coroutine[Any, Any, bool], left: set[Any]) -> bool:
    """The check's answer, or False when it has none within ``PROBE_TIMEOUT``. A check still
    running then is left to end by itself (the database's and Redis's own timeouts bound
    it): cancelling it would wait for its connection to be closed, seconds more."""
    task = asyncio.create_task(check)
    done, _ = await asyncio.wait({task}, timeout=PROBE_TIMEOUT)
    if task in done:
        return task.result()
    left.add(task)
    task.add_done_callback(left.discard)
    return False


async def _database(app: web.Application) -> bool:
    try:
        async with app[ENGINE].connect() as connection:
            await connection.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError):  # a timeout is an OSError
        return False
    return True


async def _redis(app: web.Application) -> bool:
    try:
        await app[REDIS_KEY].ping()
    except (RedisError, OSError):
        return False
    return True


async def metrics(request: web.Request) -> web.Response:
    if not _may_scrape(request):
        raise Forbidden("metrics.forbidden", "Metrics are not served to this address.")
    body = request.app[METRICS].exposition()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


def _may_scrape(request: web.Request) -> bool:
    """From an allowed network (localhost unless configured), or with the metrics token.
    Behind the proxy (SIDESTAGE_TRUST_PROXY) ``request.remote`` is the forwarded client."""
    settings = request.app[SETTINGS]
    if settings.metrics_token and _token_matches(request, settings.metrics_token):
        return True
    try:
        address = ip_address(request.remote or "")
    except ValueError:
        return False
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in settings.metrics_from)


def _token_matches(request: web.Request, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    matches = hmac.compare_digest(given.strip().encode(), token.encode())
    return scheme.lower() == "bearer" and matches
