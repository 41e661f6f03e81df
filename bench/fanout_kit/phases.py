"""The measured phases, run the same way against every server.

Every phase fails (``BenchError``) if a message is missing: each ``chat.send`` must reach
every participant in the room, the senders included.
"""

from __future__ import annotations

import asyncio
import math
import statistics
import time
from dataclasses import dataclass
from typing import Any

from bench_common.children import BenchError, Child, JsonDict

from .servers import Server

# Messages a second one person may send: Sidestage allows 5 in 10 s (chat's own limit).
CHAT_PER_SENDER = 0.45
IDLE_SETTLE = 2.0  # seconds after the joins before idle participants' memory is read
DRAIN_WITHIN = 60.0  # seconds for every delivery to arrive after the last send


@dataclass
class Load:
    """The load generator's processes, the participants spread evenly over them."""

    children: list[Child]
    joined: int = 0

    async def join(self, server: Server, count: int) -> JsonDict:
        tokens = server.tokens[self.joined : self.joined + count]
        shares = [tokens[i :: len(self.children)] for i in range(len(self.children))]
        results = await asyncio.gather(
            *(
                child.call("join", wait_s=300, url=server.url, room=server.room, tokens=share)
                for child, share in zip(self.children, shares, strict=True)
                if share
            )
        )
        self.joined += count
        return {
            "seconds": max(r["last"] for r in results) - min(r["started"] for r in results),
            "count": sum(r["count"] for r in results),
        }

    async def cpu(self) -> float:
        return sum(await asyncio.gather(*(c.call("cpu") for c in self.children)))

    async def collect(self, reset: bool = False) -> list[JsonDict]:
        return list(await asyncio.gather(*(c.call("collect", reset=reset) for c in self.children)))


async def join_storm(load: Load, server: Server, count: int) -> JsonDict:
    """``count`` participants connect and enter at once; also what each costs in memory."""
    memory_before = server.memory()
    joined = await load.join(server, count)
    await asyncio.sleep(IDLE_SETTLE)  # joins' transient buffers and tasks are done with
    return {
        "joins": count,
        "seconds": joined["seconds"],
        "per_s": count / joined["seconds"],
        "bytes_per_participant": (server.memory() - memory_before) / count,
    }


async def broadcast(load: Load, server: Server, rate: float, seconds: float) -> JsonDict:
    """Chat at ``rate`` for ``seconds`` into the room; deliveries, latency, CPU used."""
    await load.collect(reset=True)
    senders = math.ceil(rate / CHAT_PER_SENDER)
    cpu_before, load_before, wall_before = server.cpu(), await load.cpu(), time.time()
    sent = await load.children[0].call(
        "send", wait_s=seconds + 120, room=server.room, rate=rate, seconds=seconds, senders=senders
    )
    if sent["refused_count"]:
        raise BenchError(f"{server.name}: {sent['refused_count']} sends refused: {sent['refused']}")
    expected = sent["sent"] * load.joined
    counts = await _drained(load, expected)
    wall = time.time() - wall_before
    cpu = server.cpu() - cpu_before
    latencies = sorted(x for c in counts for x in c["latencies"])
    return {
        "room": load.joined,
        "rate": rate,
        "sent": sent["sent"],
        "deliveries": expected,
        "deliveries_per_s": expected / wall,
        "server_cpu_s": cpu,
        "server_us_per_delivery": cpu / expected * 1e6,
        "generator_cpu_s": await load.cpu() - load_before,
        "p50_ms": _percentile(latencies, 50) * 1000,
        "p99_ms": _percentile(latencies, 99) * 1000,
    }


async def _drained(load: Load, expected: int) -> list[JsonDict]:
    deadline = time.monotonic() + DRAIN_WITHIN
    while True:
        counts = await load.collect()
        received = sum(c["received"] for c in counts)
        if received == expected:
            return counts
        if received > expected or time.monotonic() > deadline:
            raise BenchError(f"{received} deliveries of {expected} expected")
        await asyncio.sleep(0.2)  # polling the generators' counters until the last arrives


def _percentile(values: list[float], percent: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(percent) - 1]


def summary_of(rows: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Sidestage's ratios to the references: at most 1.0 to Node, 1.5 to raw, per delivery."""

    def ratio(name: str) -> float | None:
        if "sidestage" not in rows or name not in rows:
            return None
        mine = rows["sidestage"]["capacity"]["server_us_per_delivery"]
        return float(mine / rows[name]["capacity"]["server_us_per_delivery"])

    return {"cpu_ratio_to_node": ratio("node"), "cpu_ratio_to_raw": ratio("raw")}
