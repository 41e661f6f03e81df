"""The log says when the event loop was held up, and for how long."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import re
import time
from collections.abc import AsyncIterator, Callable

import pytest

from sidestage.platform.loop_watch import LoopWatch

WAIT = 10.0


class Warnings(logging.Handler):
    """Hands each warning of ``sidestage.loop`` to the test as it is logged."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.logged: asyncio.Queue[str] = asyncio.Queue()

    def emit(self, record: logging.LogRecord) -> None:
        self.logged.put_nowait(record.getMessage())


@contextlib.asynccontextmanager
async def logged_by(watch: LoopWatch) -> AsyncIterator[asyncio.Queue[str]]:
    """``watch`` running, and the warnings it logs meanwhile."""
    handler = Warnings()
    logger = logging.getLogger("sidestage.loop")
    logger.addHandler(handler)
    try:
        async with watch.running():
            yield handler.logged
    finally:
        logger.removeHandler(handler)


@pytest.fixture
async def warnings() -> AsyncIterator[asyncio.Queue[str]]:
    async with logged_by(LoopWatch()) as logged:
        yield logged


def hold_the_loop(seconds: float, step: Callable[[], object] = lambda: None) -> None:
    """What a long callback does: keep the loop from anything else for ``seconds``."""
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        step()


def held_up_ms(message: str) -> tuple[int, int]:
    found = re.fullmatch(
        r"event loop held up for (\d+) ms \(collecting garbage: (\d+) ms of it\)", message
    )
    assert found is not None, message
    return int(found[1]), int(found[2])


async def test_a_held_up_loop_is_logged_with_how_long(warnings: asyncio.Queue[str]) -> None:
    hold_the_loop(1.0)  # its tick was due after TICK: late by about 1.0 - TICK
    late, collecting = held_up_ms(await asyncio.wait_for(warnings.get(), WAIT))
    assert late >= 600 and collecting < 100


async def test_the_collectors_share_is_counted(warnings: asyncio.Queue[str]) -> None:
    hold_the_loop(1.0, gc.collect)
    late, collecting = held_up_ms(await asyncio.wait_for(warnings.get(), WAIT))
    assert late >= 600 and collecting >= late / 2


async def test_a_lower_threshold_keeps_shorter_holds_for_whoever_measures() -> None:
    """A benchmark's load generator watches its own loop at 50 ms and reports the holds."""
    watch = LoopWatch(threshold=0.05)
    async with logged_by(watch) as logged:
        hold_the_loop(0.4)  # late by about 0.4 - TICK: past 50 ms, short of the default
        late, _ = held_up_ms(await asyncio.wait_for(logged.get(), WAIT))
        assert late >= 100
        assert list(watch.held_up_ms) == [pytest.approx(late, abs=1)]
