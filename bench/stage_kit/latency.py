"""Added latency per hop, from frame logs: (RTP timestamp, wall time) of each frame's end.

The server's senders give RTP timestamps a random origin per viewer; the publisher stamps
frames with their capture time, whose jitter makes the gaps distinctive enough to align each
viewer's timestamps with the publisher's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from .common import ALIGN_PROBE, MASK, TICK_SLACK, BenchError, JsonDict


def percentile(samples: Sequence[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def spread(total: int, count: int) -> list[int]:
    """Up to ``count`` indices from first to last, evenly spaced: the viewers sampled."""
    if total <= count:
        return list(range(total))
    return sorted({round(i * (total - 1) / (count - 1)) for i in range(count)})


def legs(sent: Sequence[Sequence[Any]], arrived: Sequence[Sequence[Any]]) -> list[float]:
    """Per frame: publisher's last packet sent -> server's last packet received, seconds."""
    when = {ts: t for ts, t in sent}
    return [t - when[ts] for ts, t in arrived if ts in when]


def added_latency(
    sent: Sequence[Sequence[Any]],
    sends: Sequence[Sequence[Sequence[Any]]],
    arrivals: Sequence[Sequence[Sequence[Any]]],
    leg: float,
    received: Sequence[Sequence[Any]],
) -> JsonDict:
    """Added delay per frame and viewer: at the server's socket, and as the viewer saw it.

    ``received`` (when the server's receiver got each frame's last packet) splits the added
    delay: "in server" is from there to the send, so what it leaves out of "added" is the
    wait before the server read the packet off its socket (its loop busy, or its process
    not running).
    """
    published = {ts: t for ts, t in sent}
    got_at_server = {ts: t for ts, t in received}
    at_server: list[float] = []
    in_server: list[float] = []
    at_viewer: list[float] = []
    for out, got in zip(sends, arrivals, strict=True):
        offset = _align(published, [ts for ts, _ in out])
        at_viewer_by_ts = {ts: t for ts, t in got}
        for ts, t in out:
            origin = _lookup(published, ts + offset)
            if origin is None:
                continue
            at_server.append(t - origin - leg)  # the second leg, loopback, is about 0
            reached = _lookup(got_at_server, ts + offset)
            if reached is not None:
                in_server.append(t - reached)
            if ts in at_viewer_by_ts:
                at_viewer.append(at_viewer_by_ts[ts] - origin - 2 * leg)
    if min(len(at_server), len(at_viewer), len(in_server)) < 10:
        raise BenchError("too few frames matched for the latency")
    samples = {"added": at_server, "in_server": in_server, "viewer_added": at_viewer}
    return {f"{k}_p{q}_ms": percentile(v, q) * 1000 for k, v in samples.items() for q in (50, 99)}


def _lookup(table: dict[int, float], ts: int) -> float | None:
    """``table[ts]``, give or take TICK_SLACK: aiortc converts timestamps through floats."""
    for delta in (0, 1, -1, 2, -2)[: 2 * TICK_SLACK + 1]:
        found = table.get((ts + delta) & MASK)
        if found is not None:
            return found
    return None


def _align(table: dict[int, float], observed: Sequence[int]) -> int:
    """The offset from a server sender's RTP timestamps (random origin) to the publisher's."""
    probe = observed[:ALIGN_PROBE]
    candidates = {(r - p) & MASK for r in table for p in probe[:3]}
    scored = sorted(
        ((sum(_lookup(table, p + d) is not None for p in probe), d) for d in candidates),
        reverse=True,
    )
    if not scored or scored[0][0] < 0.8 * len(probe):
        raise BenchError("could not align a viewer's timestamps with the publisher's")
    best_score, best = scored[0]
    rivals = [
        n for n, d in scored[1:] if min((d - best) & MASK, (best - d) & MASK) > 2 * TICK_SLACK
    ]
    if rivals and rivals[0] >= best_score:
        raise BenchError("ambiguous timestamp alignment (frames too regular)")
    return best
