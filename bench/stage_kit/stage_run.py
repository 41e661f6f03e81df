"""One setup's run: start its processes, publish, add viewers step by step, measure."""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from dataclasses import dataclass
from typing import Any

from .child_processes import Child, start_child
from .common import FPS, LATENCY_SAMPLE, LATENCY_WINDOW, BenchError, JsonDict
from .latency import added_latency, legs, percentile, spread
from .plans import Plan
from .report import line
from .rows import Row, Window, add_marginal, row_from_window
from .viewer_pool import ViewerPool

VIEWER_PROCESSES = os.cpu_count() or 1  # one viewers process saturates a core near 100


@dataclass
class Stage:
    """One setup's processes, viewers added step by step."""

    plan: Plan
    window: float
    publisher: Child
    server: Child
    viewers: ViewerPool
    leg: float = 0.0
    leg_p99: float = 0.0
    joined: int = 0

    @property
    def kind(self) -> str:
        return self.plan.kind

    async def publish(self) -> None:
        offer = await self.publisher.call("offer", audio_only=self.plan.audio_only)
        answer = await self.server.call("publish", offer=offer)
        await self.publisher.call("answer", answer=answer)
        await self.server.call("wait", kind=self.kind, count=2 * FPS, timeout=30)
        if not self.plan.audio_only:
            await self._measure_leg()

    async def _measure_leg(self) -> None:
        """The network baseline: publisher to server, nothing else running on the server."""
        since = time.time()
        await asyncio.sleep(2.0)
        span = {"since": since, "until": time.time()}
        sent = await self.publisher.call("sent", **span)
        arrived = await self.server.call("arrivals", kind="video", **span)
        measured = legs(sent, arrived)
        if len(measured) < FPS:
            raise BenchError("too few frames to measure the network baseline")
        self.leg, self.leg_p99 = statistics.median(measured), percentile(measured, 99)

    async def grow(self, total: int) -> None:
        offers = await self.server.call("offers", count=total - self.joined)
        answers = await self.viewers.call("answer", offers=offers)
        await self.server.call("answers", answers=answers)
        self.joined = total
        await self.viewers.call("wait", count=10, timeout=60)

    async def measure(self) -> Window:
        await asyncio.sleep(1.0)  # let keyframe requests and joins settle
        viewers = [await self.viewers.call("sample")]
        generators = [[await self.viewers.call("cpu"), await self.publisher.call("cpu")]]
        server = [await self.server.call("sample", edge="start")]
        await asyncio.sleep(self.window)
        server.append(await self.server.call("sample", edge="end"))
        generators.append([await self.viewers.call("cpu"), await self.publisher.call("cpu")])
        viewers.append(await self.viewers.call("sample"))
        (v0, p0), (v1, p1) = generators
        return Window((server[0], server[1]), (viewers[0], viewers[1]), (v0, v1), (p0, p1))

    async def latency(self) -> JsonDict:
        """A second window, with the server noting when frames leave for some viewers."""
        picked: dict[str, Any] = {"viewers": spread(self.joined, LATENCY_SAMPLE)}
        since = time.time()
        await self.viewers.call("record", **picked)
        await self.server.call("watch", **picked)
        await asyncio.sleep(LATENCY_WINDOW)
        sends = await self.server.call("unwatch")
        await asyncio.sleep(0.3)  # frames in flight reach the viewers
        arrivals = await self.viewers.call("arrivals", **picked)
        sent = await self.publisher.call("sent", since=since - 2.0, until=time.time())
        return added_latency(sent, sends, arrivals, self.leg)


async def run_plan(plan: Plan, window: float) -> tuple[list[Row], JsonDict]:
    """Rows for each viewer count (each printed as it comes) and the network baseline."""
    publisher, server, viewers = await asyncio.gather(
        start_child("publisher"),
        start_child("server", "--mode", plan.mode),
        ViewerPool.start(VIEWER_PROCESSES),
    )
    stage = Stage(plan, window, publisher, server, viewers)
    try:
        await stage.publish()
        rows: list[Row] = []
        for n in plan.counts:
            await stage.grow(n)
            load_before = os.getloadavg()
            measured = await stage.measure()
            latency = None if plan.audio_only else await stage.latency()
            rows.append(row_from_window(plan, n, measured, latency, (load_before, os.getloadavg())))
            add_marginal(rows)
            print(line(rows[-1]), flush=True)
        leg = {"leg_p50_ms": stage.leg * 1000, "leg_p99_ms": stage.leg_p99 * 1000}
        return rows, {"mode": plan.mode, **leg}
    finally:
        await viewers.close()
        await asyncio.gather(server.close(), publisher.close())
