"""PostgreSQL and Redis out of reach: the app says so, bounds how long it waits, and
recovers by itself.

The app runs against a PostgreSQL cluster (and a redis-server) of the test's own
(``fault_kit``), stopped, frozen and started again under it; never the machine's shared
services.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import socketio
from aiohttp.test_utils import TestClient
from redis import exceptions as redis_errors
from sqlalchemy import exc as sql_errors
from sqlalchemy import select

from sidestage.migrations import upgrade
from sidestage.platform.db import create_engine, session_factory
from sidestage.platform.outages import DATABASE, REDIS, unreachable
from sidestage.platform.program.models import Session
from sidestage.platform.settings import DB_TIMEOUT, Settings, load_settings
from sidestage.realtime.server import REALTIME
from sidestage.web.app import create_app
from tests.conftest import _in_thread
from tests.fault_kit import PostgresCluster, RedisServer, postgres_cluster, redis_server
from tests.helpers import bearer, guest_token, load_demo_program
from tests.live import Client
from tests.rooms_world import World

pytestmark = pytest.mark.faults

TEMPLATE = "sidestage_template"
RECOVERY = 30.0  # seconds for the app to find a restarted service
# What the README states: a frozen database fails a request or a command within
# SIDESTAGE_DB_TIMEOUT + 3 s (the client's statement timeout is half a second later than
# the server's, and SQLAlchemy gives a broken connection two seconds to close). The test allows
# a second more for the answer's way back.
BOUND = DB_TIMEOUT + 3
FRENCH_OUTAGE = "Le service est brièvement indisponible"
SPANISH_OUTAGE = "El servicio no está disponible por un momento"


@pytest.fixture(scope="module")
def cluster() -> Iterator[PostgresCluster]:
    with postgres_cluster() as running:
        _in_thread(asyncio.run, _admin(running, f'CREATE DATABASE "{TEMPLATE}"'))
        _in_thread(upgrade, running.url(TEMPLATE, "postgresql+asyncpg"))
        yield running


async def _admin(cluster: PostgresCluster, statement: str) -> None:
    connection = await asyncpg.connect(cluster.url())
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture
async def own_database(cluster: PostgresCluster) -> AsyncIterator[str]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    await _admin(cluster, f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
    try:
        yield cluster.url(name, "postgresql+asyncpg")
    finally:
        cluster.thaw()
        if cluster.postmaster is None:
            cluster.start()  # a test that failed while it was stopped
        await _admin(cluster, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Stage:
    """The app on the test's own database, a guest in the demo's public room."""

    http: TestClient
    room: int
    token: str
    guest: Client

    @property
    def url(self) -> str:
        return str(self.http.make_url("/"))

    async def say(self, text: str) -> dict[str, Any]:
        return await self.guest.call("chat.send", {"session_id": self.room, "text": text})


async def _stage(settings: Settings, aiohttp_client: Any) -> AsyncIterator[Stage]:
    engine = create_engine(settings.database_url)
    factory = session_factory(engine)
    await load_demo_program(factory)
    async with factory() as db:
        room = await db.scalar(
            select(Session.id)
            .where(Session.visibility == "public", Session.kind == "side_event")
            .order_by(Session.id)
            .limit(1)
        )
    await engine.dispose()
    assert room is not None
    http = await aiohttp_client(create_app(settings))
    token = await guest_token(http, "Amina")
    guest = await Client(str(http.make_url("/")), token).connect()
    try:
        await guest.ok("room.enter", {"session_id": room})
        yield Stage(http, room, token, guest)
    finally:
        await guest.close()


def _settings(tmp_path: Path, database_url: str, redis_url: str | None = None) -> Settings:
    base = load_settings(
        {"SIDESTAGE_DATA_DIR": str(tmp_path / "var"), "SIDESTAGE_SECRET": "f" * 40}
    )
    return replace(base, database_url=database_url, redis_url=redis_url)


@pytest.fixture
async def stage(own_database: str, tmp_path: Path, aiohttp_client: Any) -> AsyncIterator[Stage]:
    async for built in _stage(_settings(tmp_path, own_database), aiohttp_client):
        yield built


async def _ready(stage: Stage) -> None:
    """Until /readyz answers 200: the app found its services again by itself."""
    async with asyncio.timeout(RECOVERY):
        while True:
            if (await stage.http.get("/readyz")).status == 200:
                return
            await asyncio.sleep(0.1)  # asking again: nothing announces the recovery


async def _errors(stage: Stage, service: str) -> float:
    text = await (await stage.http.get("/metrics")).text()
    for line in text.splitlines():
        if line.startswith(f"sidestage_{service}_errors_total "):
            return float(line.split()[1])
    raise AssertionError(f"no {service} errors counter in /metrics")


async def _refused_with(stage: Stage) -> str:
    refused = Client(stage.url, stage.token)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await refused.connect()
    return str(refused.received["connect_error"][0]["data"]["code"])


def _unavailable(answer: dict[str, Any]) -> None:
    assert answer["ok"] is False, answer
    assert answer["error"]["code"] == "server.unavailable", answer
    assert answer["error"]["details"]["retry_after"] > 0


async def test_a_stopped_database_is_unavailable_and_comes_back(
    stage: Stage, cluster: PostgresCluster
) -> None:
    assert (await stage.say("before")).get("ok") is True
    before = await _errors(stage, "database")
    cluster.stop()

    assert (await stage.http.get("/healthz")).status == 200
    ready = await stage.http.get("/readyz")
    assert ready.status == 503 and (await ready.json())["down"] == ["database"]

    api = await stage.http.post("/api/auth/guest", json={"name": "Late"})
    assert api.status == 503 and int(api.headers["Retry-After"]) > 0
    assert (await api.json())["error"]["code"] == "server.unavailable"
    page = await stage.http.get(
        "/program", headers={"Accept-Language": "fr", **bearer(stage.token)}
    )
    assert page.status == 503 and "Retry-After" in page.headers
    assert FRENCH_OUTAGE in await page.text()  # failed looking up who asks
    anonymous = await stage.http.get("/program?lang=es")
    assert anonymous.status == 503  # failed in the page's own handler
    assert SPANISH_OUTAGE in await anonymous.text()
    _unavailable(await stage.say("during"))
    assert await _refused_with(stage) == "server.unavailable"
    # Each of the five failures above counted once, nothing else.
    assert await _errors(stage, "database") == before + 5

    cluster.start()
    await _ready(stage)
    assert (await stage.say("after")).get("ok") is True
    assert (await stage.http.post("/api/auth/guest", json={"name": "Back"})).status == 201
    again = await Client(stage.url, stage.token).connect()
    await again.close()


async def _timed(call: Any) -> tuple[Any, float]:
    started = time.monotonic()
    async with asyncio.timeout(BOUND + 1):
        answer = await call
    return answer, time.monotonic() - started


async def test_a_frozen_database_fails_within_the_bound(
    stage: Stage, cluster: PostgresCluster
) -> None:
    assert (await stage.say("before")).get("ok") is True
    cluster.freeze()
    try:
        ready, took = await _timed(stage.http.get("/readyz"))
        assert ready.status == 503 and took < 3
        api, took_api = await _timed(stage.http.post("/api/auth/guest", json={"name": "Late"}))
        assert api.status == 503 and "Retry-After" in api.headers
        answer, took_command = await _timed(stage.say("during"))
        _unavailable(answer)
        print(f"frozen database: API failed in {took_api:.2f} s, command in {took_command:.2f} s")
    finally:
        cluster.thaw()
    await _ready(stage)
    assert (await stage.say("after")).get("ok") is True


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    with redis_server() as running:
        yield running


@pytest.fixture
async def redis_stage(
    own_database: str, redis: RedisServer, tmp_path: Path, aiohttp_client: Any
) -> AsyncIterator[Stage]:
    settings = _settings(tmp_path, own_database, redis.url)
    async for built in _stage(settings, aiohttp_client):
        yield built


async def test_redis_down_is_unavailable_and_comes_back(
    redis_stage: Stage, redis: RedisServer
) -> None:
    stage = redis_stage
    assert (await stage.say("before")).get("ok") is True
    before = await _errors(stage, "redis")
    redis.stop()
    try:
        ready = await stage.http.get("/readyz")
        assert ready.status == 503
        assert await ready.json() == {
            "ready": False,
            "down": ["redis"],
            "checks": {"database": "ok", "redis": "down"},
        }
        _unavailable(await stage.say("during"))
        assert await _refused_with(stage) == "server.unavailable"
        assert await _errors(stage, "redis") == before + 2
    finally:
        redis.start()
    await _ready(stage)
    assert (await stage.say("after")).get("ok") is True


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_an_unexpected_handshake_failure_is_refused_with_a_code(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    identities = world.http.app[REALTIME].identities

    async def broken(token: str) -> None:
        raise RuntimeError("a bug while looking up the token")

    monkeypatch.setattr(identities, "of_token", broken)
    token = await guest_token(world.http)
    refused = Client(world.url, token)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await refused.connect()
    assert refused.received["connect_error"][0]["data"]["code"] == "server.error"
    assert "a bug while looking up the token" in caplog.text  # logged with its trace


def _raised(error: BaseException) -> BaseException:
    try:
        raise error
    except BaseException as caught:
        return caught


class _Orig(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def test_outages_are_told_from_bugs() -> None:
    def dbapi(kind: type[sql_errors.DBAPIError], sqlstate: str = "") -> BaseException:
        return kind("SELECT 1", {}, _Orig(sqlstate))

    assert unreachable(redis_errors.ConnectionError("refused")) == REDIS
    assert unreachable(redis_errors.TimeoutError("slow")) == REDIS
    assert unreachable(dbapi(sql_errors.OperationalError)) == DATABASE
    assert unreachable(dbapi(sql_errors.DBAPIError, "57014")) == DATABASE  # statement_timeout
    assert unreachable(dbapi(sql_errors.DBAPIError, "08006")) == DATABASE
    assert unreachable(sql_errors.TimeoutError("pool")) == DATABASE
    assert unreachable(asyncpg.ConnectionDoesNotExistError("gone")) == DATABASE
    # Refusals the database made on purpose, and bugs, are not outages.
    assert unreachable(dbapi(sql_errors.IntegrityError, "23505")) is None
    assert unreachable(dbapi(sql_errors.DBAPIError, "42P01")) is None
    assert unreachable(RuntimeError("bug")) is None
    # An OSError counts only when it came up through a database or Redis client.
    assert unreachable(_raised(FileNotFoundError("recording.webm"))) is None
    assert unreachable(_raised(TimeoutError())) is None
