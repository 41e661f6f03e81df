"""Settings, types and the error shared by every part of the stage bench."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiortc import RTCConfiguration
from bench_common.children import BenchError, Handler, JsonDict

CONFIG = RTCConfiguration(iceServers=[])  # loopback only: no STUN server to wait for
WIDTH, HEIGHT, FPS = 640, 480, 30
VIDEO_BITRATE = 1_000_000
NOISE_ROWS = 24  # measured: this much noise under the gradient makes VP8 use ~1 Mbit/s
VIDEO_CLOCK = 90_000
MASK = 0xFFFFFFFF
MIN_DELIVERY = 0.1  # under this share of the frames a viewer counts as not receiving
LATENCY_SAMPLE = 10  # viewers whose arrivals are compared, spread over the joining order
ALIGN_PROBE = 20
TICK_SLACK = 2
SATURATED = 0.85  # share of all cores used by the bench's processes
LATENCY_WINDOW = 3.0  # seconds, after the CPU window: noting send times costs a little CPU
TARGET_VIEWERS_PER_CORE = 300
TARGET_ADDED_MS = 5.0

FrameLog = list[tuple[int, float]]  # (RTP timestamp, wall time) of each frame's last packet


__all__ = ["BenchError", "Handler", "JsonDict"]


def between(log: Sequence[tuple[int, float]], since: float, until: float) -> list[Any]:
    """The entries of a frame log noted within [since, until]."""
    return [entry for entry in log if since <= entry[1] <= until]
