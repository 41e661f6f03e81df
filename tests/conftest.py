"""Shared fixtures: a fresh, migrated database per test on SQLite and on PostgreSQL.

Migrations run once per backend into a template (a file for SQLite, a template
database for PostgreSQL); each test gets its own copy, so tests are isolated and
do not depend on anything left behind.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sidestage.cli import FAST_PATHS
from sidestage.migrations import upgrade
from sidestage.platform import fast_paths
from sidestage.platform.db import create_engine, session_factory
from sidestage.platform.settings import Settings, load_settings
from sidestage.web.app import create_app
from tests.media_kit import CodecUse, count_codec_use, use_loopback_ice
from tests.rooms_world import World, make_world

SCHEDULES = Path(__file__).resolve().parents[2] / "shared" / "data" / "schedules"
if not SCHEDULES.exists():  # a clone sits beside shared/ in CI and in the work tree
    SCHEDULES = Path(os.environ.get("SIDESTAGE_SCHEDULES", "../shared/data/schedules")).resolve()
POSTGRES_ADMIN = os.environ.get(
    "SIDESTAGE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("SIDESTAGE_TEST_REDIS", "redis://127.0.0.1:6379/15")
BACKENDS = ["sqlite", "postgresql"]
# Tests make hundreds of guests from 127.0.0.1; test_guest_limits puts the default back.
TESTS_GUEST_BURST = "1000000"


def _asyncpg_url(database: str) -> str:
    base = POSTGRES_ADMIN.rsplit("/", 1)[0]
    return f"{base.replace('postgresql://', 'postgresql+asyncpg://')}/{database}"


async def _admin(statement: str) -> None:
    connection = await asyncpg.connect(POSTGRES_ADMIN)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def _in_thread(function: Any, *args: Any) -> Any:
    """Run blocking set-up (its own event loop included) away from the test's running loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args).result()


def _admin_blocking(statement: str) -> None:
    asyncio.run(_admin(statement))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    _in_thread(upgrade, f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    name = f"sidestage_tmpl_{uuid.uuid4().hex[:10]}"
    _in_thread(_admin_blocking, f'CREATE DATABASE "{name}"')
    try:
        _in_thread(upgrade, _asyncpg_url(name))
        yield name
    finally:
        _in_thread(_admin_blocking, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The PostgreSQL case of every test on both databases is in the ``postgres`` tier. A
    test of one fast path is skipped where that path does not run (``SIDESTAGE_FAST_PATHS=
    off``, or a library that moved): what it checks is that path's own work."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("backend") == "postgresql":
            item.add_marker(pytest.mark.postgres)
        for marker in item.iter_markers("fast_path"):
            decision = fast_paths.decide(FAST_PATHS[marker.args[0]])
            if not decision.runs:
                item.add_marker(pytest.mark.skip(reason=decision.describe()))


@pytest.fixture
async def database_url(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[str]:
    if backend == "sqlite":
        target = tmp_path / "sidestage.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        yield f"sqlite+aiosqlite:///{target}"
        return
    template = request.getfixturevalue("postgres_template")
    name = f"sidestage_t_{uuid.uuid4().hex[:12]}"
    await _admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield _asyncpg_url(name)
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    base = load_settings(
        {
            "SIDESTAGE_DATA_DIR": str(tmp_path / "var"),
            "SIDESTAGE_SECRET": "t" * 40,
            "SIDESTAGE_GUEST_BURST": TESTS_GUEST_BURST,
        }
    )
    return replace(base, database_url=database_url)


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(settings.database_url)
    yield session_factory(engine)
    await engine.dispose()


@pytest.fixture
async def world(client: TestClient, db: async_sessionmaker[AsyncSession]) -> AsyncIterator[World]:
    """The demo program, with the rooms tests enter; the clients it opened closed after."""
    built = await make_world(client, db)
    yield built
    await built.close()


@pytest.fixture
async def client(settings: Settings, aiohttp_client) -> TestClient:  # type: ignore[no-untyped-def]
    return await aiohttp_client(create_app(settings))


def schedule_bytes(name: str) -> bytes:
    return (SCHEDULES / name).read_bytes()


@pytest.fixture
def loopback_ice(monkeypatch: pytest.MonkeyPatch) -> None:
    """The media tests' peers meet on 127.0.0.1 only (see ``media_kit``)."""
    use_loopback_ice(monkeypatch)


@pytest.fixture
def codec_use(monkeypatch: pytest.MonkeyPatch) -> CodecUse:
    return count_codec_use(monkeypatch)
