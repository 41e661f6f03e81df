"""One table row: what a steady window counted, turned into viewers per core and the rest."""

from __future__ import annotations

import os
import statistics
from dataclasses import dataclass
from typing import Any

from bench_common.cores import Cores

from .common import FPS, MIN_DELIVERY, SATURATED, BenchError, JsonDict
from .plans import Plan


@dataclass
class Window:
    """What the processes counted over one steady window."""

    server: tuple[JsonDict, JsonDict]
    viewers: tuple[list[JsonDict], list[JsonDict]]
    viewers_cpu: tuple[float, float]
    publisher_cpu: tuple[float, float]


@dataclass
class Row:
    mode: str
    media: str
    viewers: int
    server_cpu_per_s: float
    viewers_process_cpu_per_s: float
    publisher_cpu_per_s: float
    delivered_min: float
    delivered_median: float
    viewers_per_core: float
    marginal_viewers_per_core: float | None
    us_per_packet: float
    packets_per_s: float
    mbit_per_viewer: float
    latency: JsonDict | None
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    generator_cores: int | None  # cores the load generators were pinned to; None: unpinned
    switch_ms: JsonDict | None = None  # interpreted: hand-over to the new source's first frame

    @property
    def saturated(self) -> bool:
        """The machine, not the server, was the limit: the processes filled the cores.

        Pinned, that is the server's core or the load generators' cores filling up.
        """
        generators = self.viewers_process_cpu_per_s + self.publisher_cpu_per_s
        if self.generator_cores is not None:
            return (
                self.server_cpu_per_s > SATURATED or generators > SATURATED * self.generator_cores
            )
        return self.server_cpu_per_s + generators > SATURATED * (os.cpu_count() or 1)


def row_from_window(
    plan: Plan,
    n: int,
    window: Window,
    latency: JsonDict | None,
    loads: Any,
    cores: Cores,
    switches: list[float] | None = None,
) -> Row:
    """A viewer counts only for its share of the publisher's frames: drops do not look fast."""
    kind = plan.kind
    start, end = window.server
    seconds = end["wall"] - start["wall"]
    cpu = (end["cpu"] - start["cpu"]) / seconds
    frames_in = end["frames"][kind] - start["frames"][kind]
    if frames_in < 0.5 * seconds * (FPS if kind == "video" else 50):
        raise BenchError(f"the server got only {frames_in} {kind} frames in {seconds:.1f} s")
    before, after = window.viewers
    got = [a[kind][0] - b[kind][0] for a, b in zip(after, before, strict=True)]
    shares = [min(1.0, g / frames_in) for g in got]
    if min(shares) < MIN_DELIVERY:
        raise BenchError(f"{plan.mode} n={n}: a viewer got {min(got)}/{frames_in} frames")
    video_bytes = [
        a.get("video", [0, 0])[1] - b.get("video", [0, 0])[1]
        for a, b in zip(after, before, strict=True)
    ]
    packets = end["packets"] - start["packets"]
    return Row(
        mode=plan.mode,
        media=plan.media,
        viewers=n,
        server_cpu_per_s=cpu,
        viewers_process_cpu_per_s=(window.viewers_cpu[1] - window.viewers_cpu[0]) / seconds,
        publisher_cpu_per_s=(window.publisher_cpu[1] - window.publisher_cpu[0]) / seconds,
        delivered_min=min(shares),
        delivered_median=statistics.median(shares),
        viewers_per_core=sum(shares) / cpu,
        marginal_viewers_per_core=None,
        us_per_packet=(end["cpu"] - start["cpu"]) / packets * 1e6,
        packets_per_s=packets / seconds,
        mbit_per_viewer=statistics.median(video_bytes) * 8 / seconds / 1e6,
        latency=latency,
        load_before=loads[0],
        load_after=loads[1],
        generator_cores=len(cores.generators) if cores.generators else None,
        switch_ms=_switch_ms(switches) if switches else None,
    )


def _switch_ms(switches: list[float]) -> JsonDict:
    taken = sorted(s * 1000 for s in switches)
    return {
        "count": len(taken),
        "p50": statistics.median(taken),
        "p99": taken[min(len(taken) - 1, int(len(taken) * 0.99))],
        "max": taken[-1],
    }


def add_marginal(rows: list[Row]) -> None:
    """Viewers per core of the step from the previous count: the fixed costs left out."""
    if len(rows) < 2:
        return
    previous, row = rows[-2:]
    extra_cpu = row.server_cpu_per_s - previous.server_cpu_per_s
    extra = row.viewers * row.delivered_median - previous.viewers * previous.delivered_median
    row.marginal_viewers_per_core = extra / extra_cpu if extra_cpu > 0 else None
