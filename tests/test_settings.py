"""Settings from the environment, and refusing to start when they cannot work."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from sidestage.platform.errors import ConfigurationError
from sidestage.platform.settings import load_settings
from sidestage.web.app import create_app


def test_embedded_defaults(tmp_path: Path) -> None:
    settings = load_settings({"SIDESTAGE_DATA_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'sidestage.db'}"
    assert settings.redis_url is None and settings.port == 8080
    assert settings.media_workers == "embedded"  # one process holds everything
    # The development secret is generated once and kept.
    assert load_settings({"SIDESTAGE_DATA_DIR": str(tmp_path)}).secret == settings.secret
    assert (tmp_path / "dev-secret").stat().st_mode & 0o077 == 0


def test_production_needs_its_own_secret(tmp_path: Path) -> None:
    dev = load_settings({"SIDESTAGE_DATA_DIR": str(tmp_path)}).secret
    for secret in ("", "short", dev):
        with pytest.raises(ConfigurationError):
            load_settings(
                {
                    "SIDESTAGE_ENV": "production",
                    "SIDESTAGE_DATA_DIR": str(tmp_path),
                    "SIDESTAGE_SECRET": secret,
                }
            )
    good = load_settings(
        {
            "SIDESTAGE_ENV": "production",
            "SIDESTAGE_DATA_DIR": str(tmp_path),
            "SIDESTAGE_SECRET": "p" * 40,
        }
    )
    assert good.production and good.secret == "p" * 40


@pytest.mark.parametrize(
    "env",
    [
        {"SIDESTAGE_PORT": "eighty"},
        {"SIDESTAGE_ENV": "staging"},
        {"SIDESTAGE_MEDIA_WORKERS": "elsewhere"},
        {"SIDESTAGE_MEDIA_WORKERS": "separate"},  # without Redis to route through
    ],
)
def test_bad_values_are_named(tmp_path: Path, env: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError, match=next(iter(env))):
        load_settings({"SIDESTAGE_DATA_DIR": str(tmp_path), **env})


async def test_unreachable_redis_stops_start_up(tmp_path: Path) -> None:
    settings = replace(
        load_settings({"SIDESTAGE_DATA_DIR": str(tmp_path)}), redis_url="redis://127.0.0.1:1/0"
    )
    server = TestServer(create_app(settings))
    with pytest.raises(ConfigurationError, match="Redis is unreachable"):
        await server.start_server()
    await server.close()


async def test_reachable_redis_carries_rate_limits(tmp_path: Path) -> None:
    import uuid

    from redis.asyncio import Redis

    from sidestage.platform.ratelimit import RedisRateLimiter
    from tests.conftest import REDIS_URL

    redis = Redis.from_url(REDIS_URL)
    limiter = RedisRateLimiter(redis)
    key = f"test:{uuid.uuid4()}"
    try:
        waits = [await limiter.hit(key, 3, 60) for _ in range(4)]
        assert waits[:3] == [None, None, None] and waits[3] is not None and waits[3] > 0
        # A second process sharing Redis sees the same count.
        other = RedisRateLimiter(Redis.from_url(REDIS_URL))
        assert await other.hit(key, 3, 60) is not None
    finally:
        await redis.aclose()
