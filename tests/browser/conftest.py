"""Fixtures of the browser tests: one Chromium per run, a fresh context per participant, and
per test the real app with the demo program on a real port (SQLite).

Playwright's objects belong to the event loop that made them, so every browser test and
fixture runs in the session's loop (the hook below marks the tests of this folder).
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from sidestage.platform.db import create_engine, session_factory
from sidestage.platform.settings import load_settings
from sidestage.web.security import TIME_ZONE_COOKIE
from tests.browser.kit import Site, launch_chromium
from tests.helpers import load_demo_program
from tests.live import LiveServer

HERE = Path(__file__).resolve().parent
LOOP: Literal["session"] = "session"
# How long an expectation waits for its element. Playwright's 5 s default is short for a
# machine that also runs the server, the database and other tests: a limit, never a delay.
expect.set_options(timeout=15_000)
# Visitors whose zone the site already knows: zone.js reloads a first visit once to learn it,
# which would replace the page under a test's feet.
YOUR_ZONE = "Europe/Berlin"

NewContext = Callable[..., Awaitable[BrowserContext]]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    in_session_loop = pytest.mark.asyncio(loop_scope=LOOP)
    for item in items:
        if not item.path.is_relative_to(HERE):
            continue
        item.add_marker(pytest.mark.browser)  # a tier of its own (pyproject.toml)
        if pytest_asyncio.is_async_test(item):
            item.add_marker(in_session_loop, append=False)


def _sqlite(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


@pytest_asyncio.fixture(scope="session", loop_scope=LOOP)
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await launch_chromium(playwright)
        yield browser
        await browser.close()


@pytest_asyncio.fixture(scope="session", loop_scope=LOOP)
async def demo_database(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The migrated database with the demo program, made once; each test gets a copy."""
    path = tmp_path_factory.mktemp("browser") / "demo.db"
    shutil.copyfile(sqlite_template, path)
    engine = create_engine(_sqlite(path))
    try:
        await load_demo_program(session_factory(engine))
    finally:
        await engine.dispose()  # the last connection folds SQLite's WAL back into the file
    return path


@pytest_asyncio.fixture(loop_scope=LOOP)
async def site(demo_database: Path, tmp_path: Path) -> AsyncIterator[Site]:
    path = tmp_path / "sidestage.db"
    shutil.copyfile(demo_database, path)
    environ = {"SIDESTAGE_DATA_DIR": str(tmp_path / "var"), "SIDESTAGE_SECRET": "b" * 40}
    server = LiveServer(replace(load_settings(environ), database_url=_sqlite(path)))
    engine = create_engine(_sqlite(path))
    # Starting and stopping block on the server's thread: keep the browser's loop free.
    await asyncio.to_thread(server.__enter__)
    try:
        yield Site(f"http://127.0.0.1:{server.port}", session_factory(engine))
    finally:
        await asyncio.to_thread(server.__exit__, None, None, None)
        await engine.dispose()


@pytest_asyncio.fixture(loop_scope=LOOP)
async def new_context(chromium: Browser, site: Site) -> AsyncIterator[NewContext]:
    """Opens one fresh browser context (cookies, cache, storage) per participant."""
    contexts: list[BrowserContext] = []

    async def open_context(**options: Any) -> BrowserContext:
        options = {"locale": "en-US", "timezone_id": YOUR_ZONE, **options}
        context = await chromium.new_context(base_url=site.url, **options)
        contexts.append(context)
        zone: str = options["timezone_id"]
        await context.add_cookies([{"name": TIME_ZONE_COOKIE, "value": zone, "url": site.url}])
        return context

    yield open_context
    for context in contexts:
        await context.close()


@pytest_asyncio.fixture(loop_scope=LOOP)
async def page(new_context: NewContext) -> Page:
    """A page of a visitor who is not signed in."""
    context = await new_context()
    return await context.new_page()
