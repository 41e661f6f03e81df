"""Typed keys for application and request state."""

from __future__ import annotations

from aiohttp import web
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from sidestage.platform.access.service import Principal
from sidestage.platform.metrics import Metrics
from sidestage.platform.ratelimit import RateLimiter
from sidestage.platform.settings import Settings
from sidestage.web.assets import Assets
from sidestage.web.i18n import BrowserStrings, Catalogs, Locale

SOCKET_PATH = "/socket.io/"  # where Engine.IO's requests arrive
# Asked by load balancers and Prometheus, not people: answered without reading who asks,
# so they cost no query and still answer while the database is away.
PROBE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
DB = web.AppKey("db", async_sessionmaker[AsyncSession])
LIMITER = web.AppKey("rate_limiter", RateLimiter)
CATALOGS = web.AppKey("catalogs", Catalogs)
REDIS = web.AppKey("redis", Redis)
ASSETS = web.AppKey("assets", Assets)
BROWSER_STRINGS = web.AppKey("browser_strings", BrowserStrings)
METRICS = web.AppKey("metrics", Metrics)

PRINCIPAL = web.RequestKey("principal", Principal)
TOKEN = web.RequestKey("token", str)
LOCALE = web.RequestKey("locale", Locale)
TIME_ZONE = web.RequestKey("time_zone", str)
CSRF = web.RequestKey("csrf_cookie", str)
