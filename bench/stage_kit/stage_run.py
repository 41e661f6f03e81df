"""One setup's run: start its processes, publish, add viewers step by step, measure."""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

from bench_common.cores import placement

from .child_processes import Child, start_child
from .common import FPS, LATENCY_SAMPLE, LATENCY_WINDOW, BenchError, JsonDict
from .latency import added_latency, legs, percentile, spread
from .plans import Plan
from .report import line
from .rows import Row, Window, add_marginal, row_from_window
from .viewer_pool import ViewerPool

VIEWER_PROCESSES = os.cpu_count() or 1  # one viewers process saturates a core near 100
SWITCH_ROUNDS = 3  # of every listener to the floor and back to the channel


@dataclass
class Stage:
    """One setup's processes, viewers added step by step.

    ``servers`` is one server, or for the ``relayed`` setup the origin (the publisher's) and
    an edge relaying from it; viewers join them in turn, so each carries half.
    """

    plan: Plan
    window: float
    publisher: Child
    servers: list[Child]
    viewers: ViewerPool
    leg: float = 0.0
    leg_p99: float = 0.0
    placement: list[tuple[int, int]] = field(default_factory=list)  # (server, its index)

    @property
    def server(self) -> Child:
        """The origin: the publisher's server."""
        return self.servers[0]

    @property
    def joined(self) -> int:
        return len(self.placement)

    @property
    def kind(self) -> str:
        return self.plan.kind

    async def publish(self) -> None:
        interpreted = self.plan.interpreted
        offer = await self.publisher.call(
            "offer", audio_only=self.plan.audio_only, interpreted=interpreted
        )
        answer = await self.server.call("publish", offer=offer, interpreted=interpreted)
        await self.publisher.call("answer", answer=answer)
        await self.server.call("wait", kind=self.kind, count=2 * FPS, timeout=30)
        for edge in self.servers[1:]:
            await edge.call("follow", address=await self.server.call("serve_relay"))
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
        newcomers = [len(self.placement) + n for n in range(total - self.joined)]
        on = {
            i: [n for n in newcomers if n % len(self.servers) == i]
            for i in range(len(self.servers))
        }
        offers = {i: await self.servers[i].call("offers", count=len(on[i])) for i in on}
        answers = await self.viewers.call(
            "answer", offers=[offers[n % len(self.servers)].pop(0) for n in newcomers]
        )
        for i, server in enumerate(self.servers):
            mine = [a for n, a in zip(newcomers, answers, strict=True) if n in on[i]]
            await server.call("answers", answers=mine)
        for n in newcomers:
            server_index = n % len(self.servers)
            local = sum(1 for s, _ in self.placement if s == server_index)
            self.placement.append((server_index, local))
        await self.viewers.call("wait", count=10, timeout=60)

    async def measure(self) -> Window:
        await asyncio.sleep(1.0)  # let keyframe requests and joins settle
        viewers = [await self.viewers.call("sample")]
        generators = [[await self.viewers.call("cpu"), await self.publisher.call("cpu")]]
        start = [await s.call("sample", edge="start") for s in self.servers]
        await asyncio.sleep(self.window)
        end = [await s.call("sample", edge="end") for s in self.servers]
        generators.append([await self.viewers.call("cpu"), await self.publisher.call("cpu")])
        viewers.append(await self.viewers.call("sample"))
        (v0, p0), (v1, p1) = generators
        server = (_together(start), _together(end))
        return Window(server, (viewers[0], viewers[1]), (v0, v1), (p0, p1))

    async def switches(self, rounds: int = SWITCH_ROUNDS) -> list[float]:
        """Every viewer switched to the channel and back ``rounds`` times, ending on the
        channel: seconds from each hand-over to the new source's first frame leaving."""
        taken: list[float] = await self.server.call("switch", to="channel")
        for _ in range(rounds - 1):
            taken += await self.server.call("switch", to="floor")
            taken += await self.server.call("switch", to="channel")
        return taken

    async def latency(self) -> JsonDict:
        """A second window, with the server noting when frames leave for some viewers."""
        picked: dict[str, Any] = {"viewers": spread(self.joined, LATENCY_SAMPLE)}
        where = [self.placement[n] for n in picked["viewers"]]
        since = time.time()
        await self.viewers.call("record", **picked)
        for i, server in enumerate(self.servers):
            await server.call("watch", viewers=[local for s, local in where if s == i])
        await asyncio.sleep(LATENCY_WINDOW)
        noted = [await server.call("unwatch") for server in self.servers]
        sends = [noted[s].pop(0) for s, _ in where]  # each server's in its viewers' order
        await asyncio.sleep(0.3)  # frames in flight reach the viewers
        arrivals = await self.viewers.call("arrivals", **picked)
        span = {"since": since - 2.0, "until": time.time()}
        sent = await self.publisher.call("sent", **span)
        received = await self.server.call("arrivals", kind="video", **span)
        return added_latency(sent, sends, arrivals, self.leg, received)


def _together(samples: list[JsonDict]) -> JsonDict:
    """The servers' samples as one: CPU and packets summed; wall and frames in, the origin's."""
    origin = samples[0]
    return {
        **origin,
        "cpu": sum(s["cpu"] for s in samples),
        "packets": sum(s["packets"] for s in samples),
    }


async def run_plan(plan: Plan, window: float) -> tuple[list[Row], JsonDict]:
    """Rows for each viewer count (each printed as it comes) and the network baseline."""
    relayed = plan.mode == "relayed"
    mode = "forwarder" if relayed else plan.mode
    servers = 2 if relayed else 1
    cores = placement(servers)
    started = await asyncio.gather(
        start_child("publisher", *cores.arguments("publisher")),
        ViewerPool.start(VIEWER_PROCESSES, *cores.arguments("viewers")),
        *(
            start_child("server", "--mode", mode, *cores.arguments("server"))
            for _ in range(servers)
        ),
    )
    publisher, viewers, servers = started[0], started[1], list(started[2:])
    stage = Stage(plan, window, publisher, servers, viewers)
    try:
        await stage.publish()
        rows: list[Row] = []
        for n in plan.counts:
            await stage.grow(n)
            switches = await stage.switches() if plan.interpreted else None
            load_before = os.getloadavg()
            measured = await stage.measure()
            latency = None if plan.audio_only else await stage.latency()
            loads = (load_before, os.getloadavg())
            rows.append(row_from_window(plan, n, measured, latency, loads, cores, switches))
            add_marginal(rows)
            print(line(rows[-1]), flush=True)
        leg = {"leg_p50_ms": stage.leg * 1000, "leg_p99_ms": stage.leg_p99 * 1000}
        return rows, {"mode": plan.mode, **leg}
    finally:
        await viewers.close()
        await asyncio.gather(*(s.close() for s in reversed(servers)), publisher.close())
