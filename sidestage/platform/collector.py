"""Python's cycle collector, set for a long-running server with many connections.

With the stock thresholds a process holding 5,000 connections ran a full collection
about every ten seconds, each pausing the event loop for about a second: every chat
message and tally in flight waited (measured with ``bench/fanout.py``: two processes,
10,000 participants, p50 320 ms and p99 880 ms, almost all of it collection pauses).
Most of those objects live as long as their connection, so collecting them over and
over finds nothing. Here what exists once the server is set up is frozen out of the
collector's sight (it lives as long as the process), and the young generation is
collected after 50,000 allocations instead of 700, so older generations are scanned far
less often. Garbage that is not in a cycle is still freed at once by reference counting.
"""

from __future__ import annotations

import gc

YOUNG = 50_000  # allocations between collections of the youngest generation
MIDDLE = 20  # young collections between collections of the middle one
OLD = 100  # middle collections between full collections (also gated by Python's 25% rule)


def tune_for_serving() -> None:
    """Call once the process has built what it keeps for its lifetime."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG, MIDDLE, OLD)
