"""Which cores each of a setup's processes may run on: the server gets one to itself.

Why: a media worker owns a core in production (one per core), and its viewers and
publisher are on other machines. Here they share two cores. Scheduling the viewers
SCHED_IDLE was not enough: ``perf sched`` at 100 viewers showed the viewers processes
taking the server's core for up to 4 ms in the middle of a fan-out (117 preemptions,
69 ms in 4 s), and the publisher's encoder for up to 3 ms, so a frame's fan-out of
2.5 ms of CPU took 7 to 8 ms of wall time at the 99th percentile. Pinned, the server's
core runs only the server (and the kernel's work on its behalf); the load generators
share the others.

The ``relayed`` setup has two servers on two cores; it stays unpinned, as before.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Cores:
    server: frozenset[int] | None  # None: wherever the kernel puts it
    generators: frozenset[int] | None

    @property
    def pinned(self) -> bool:
        return self.server is not None

    def describe(self) -> str:
        if self.server is None or self.generators is None:
            return "not pinned"
        server, others = _listed(self.server), _listed(self.generators)
        return f"server on {server}, publisher and viewers on {others}"

    def arguments(self, role: str) -> list[str]:
        """The child's ``--cpus`` option for ``role``."""
        cores = self.server if role == "server" else self.generators
        return ["--cpus", _listed(cores)] if cores else []


def _listed(cores: frozenset[int]) -> str:
    return ",".join(map(str, sorted(cores)))


def placement(servers: int) -> Cores:
    available = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if servers != 1 or len(available) < 2:
        return Cores(None, None)
    return Cores(frozenset(available[:1]), frozenset(available[1:]))


def pin(cores: str | None) -> None:
    """In a child: run only on ``cores`` ("0" or "1,2,3"); threads made later inherit it."""
    if cores:
        os.sched_setaffinity(0, {int(c) for c in cores.split(",")})
