"""A warning in the log whenever the event loop was held up, with how long and how much
of it the cycle collector took.

While one piece of work holds the loop, everything the process serves waits: every chat
line and tally in flight arrives that much later, all at once. The fan-out bench once
saw a 2.3 s stall in a room of 2,000 that it could not make happen again; with this, the
next one leaves its size and its likeliest cause in the log. A tick four times a second
costs next to nothing (one timer).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import gc
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

log = logging.getLogger("sidestage.loop")
TICK = 0.25  # seconds between looks at the clock
HELD_UP = 0.25  # seconds late past which a tick is logged
KEPT = 1000  # late ticks remembered in ``held_up_ms``


class LoopWatch:
    def __init__(self, threshold: float = HELD_UP) -> None:
        self.threshold = threshold
        # How late each tick past the threshold was, in ms, newest last: for whoever
        # measures the process (a benchmark's load generator reports its own).
        self.held_up_ms: collections.deque[float] = collections.deque(maxlen=KEPT)
        self._collecting = 0.0  # seconds the cycle collector ran since the last tick
        self._collection_started = 0.0

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[LoopWatch]:
        """Watching from its first look at the clock, on entry, until the block ends."""
        watching = asyncio.create_task(self.run())
        await asyncio.sleep(0)  # the watch takes its first look at the clock
        try:
            yield self
        finally:
            watching.cancel()
            await asyncio.gather(watching, return_exceptions=True)

    async def run(self) -> None:
        """Until cancelled: look at the clock every ``TICK`` and log a late tick."""
        loop = asyncio.get_running_loop()
        gc.callbacks.append(self._timed_collection)
        try:
            while True:
                self._collecting = 0.0
                asked = loop.time() + TICK
                await asyncio.sleep(TICK)
                late = loop.time() - asked
                if late > self.threshold:
                    self.held_up_ms.append(late * 1000)
                    log.warning(
                        "event loop held up for %.0f ms (collecting garbage: %.0f ms of it)",
                        late * 1000,
                        self._collecting * 1000,
                    )
        finally:
            gc.callbacks.remove(self._timed_collection)

    def _timed_collection(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._collection_started = time.perf_counter()
        else:
            self._collecting += time.perf_counter() - self._collection_started
