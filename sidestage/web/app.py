"""The aiohttp application: resources opened in ``cleanup_ctx``, middlewares, routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web
from redis.exceptions import RedisError

from sidestage.platform.db import create_engine, session_factory
from sidestage.platform.errors import ConfigurationError
from sidestage.platform.hot_store import connect_redis
from sidestage.platform.loop_watch import LoopWatch
from sidestage.platform.metrics import Metrics
from sidestage.platform.ratelimit import MemoryRateLimiter, RedisRateLimiter
from sidestage.platform.settings import Settings
from sidestage.realtime.server import install as install_realtime
from sidestage.web import (
    api,
    caption_api,  # noqa: F401  (its routes join the API on import)
    ops,
    pages,
    recording_pages,
    room_api,
    room_pages,
)
from sidestage.web.assets import Assets
from sidestage.web.errors import error_middleware
from sidestage.web.i18n import BrowserStrings, Catalogs
from sidestage.web.keys import (
    ASSETS,
    BROWSER_STRINGS,
    CATALOGS,
    DB,
    ENGINE,
    LIMITER,
    METRICS,
    REDIS,
    SETTINGS,
)
from sidestage.web.middleware import (
    compression_middleware,
    context_middleware,
    headers_middleware,
    proxy_middleware,
)
from sidestage.web.render import page_context

PACKAGE = Path(__file__).resolve().parent.parent
STATIC = PACKAGE / "static"
MAX_BODY = 5 * 1024 * 1024  # a large schedule file is a few hundred KB


def create_app(settings: Settings) -> web.Application:
    app = web.Application(
        client_max_size=MAX_BODY,
        middlewares=[
            proxy_middleware,
            compression_middleware,
            headers_middleware,
            error_middleware,
            context_middleware,
        ],
    )
    app[SETTINGS] = settings
    app[CATALOGS] = Catalogs()
    app[ASSETS] = Assets(STATIC)
    # The outage message is an ack's too (platform/outages.py), shown in the page's language.
    services = (PACKAGE / "rooms", PACKAGE / "realtime", PACKAGE / "platform" / "outages.py")
    app[BROWSER_STRINGS] = BrowserStrings(app[CATALOGS], STATIC / "js", services)
    _templates(app)
    app.cleanup_ctx.append(_loop_watch)
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(_hot_store)
    app[METRICS] = Metrics()
    install_realtime(app, settings, lambda: (app[DB], app[LIMITER], app.get(REDIS)), app[METRICS])
    ops.setup(app)
    api.setup(app)
    room_api.setup(app)
    pages.setup(app)
    room_pages.setup(app)
    recording_pages.setup(app)
    app.router.add_get(r"/static/{version:\w+}/{name:.+}", app[ASSETS].serve)
    return app


def _templates(app: web.Application) -> None:
    environment = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(PACKAGE / "templates"),
        autoescape=jinja2.select_autoescape(default=True),
        context_processors=[page_context],
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals["static"] = app[ASSETS].url
    environment.globals["modules"] = app[ASSETS].module_urls


async def _loop_watch(app: web.Application) -> AsyncIterator[None]:
    async with LoopWatch().running():
        yield


async def _database(app: web.Application) -> AsyncIterator[None]:
    engine = create_engine(app[SETTINGS].database_url, timeout=app[SETTINGS].db_timeout)
    app[ENGINE] = engine
    app[DB] = session_factory(engine)
    yield
    await engine.dispose()


async def _hot_store(app: web.Application) -> AsyncIterator[None]:
    url = app[SETTINGS].redis_url
    if url is None:
        app[LIMITER] = MemoryRateLimiter()
        yield
        return
    redis = connect_redis(url)
    try:
        await redis.ping()
    except (RedisError, OSError) as error:
        await redis.aclose()
        raise ConfigurationError(
            f"SIDESTAGE_REDIS_URL is set but Redis is unreachable: {error}"
        ) from None
    app[LIMITER] = RedisRateLimiter(redis)
    app[REDIS] = redis
    yield
    await redis.aclose()
