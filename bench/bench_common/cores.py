"""Which cores a benchmark's processes may run on: the server under test gets one to itself.

Why: in production a server process owns its core (one per core) and the people it serves
are on other machines. Here the load generators share the server's two cores, and being
scheduled after it (SCHED_IDLE, nice) was not enough: in the stage bench at 100 viewers
``perf sched`` showed the viewers processes taking the server's core for up to 4 ms in the
middle of a fan-out (117 preemptions, 69 ms in 4 s), and the publisher's encoder for up to
3 ms, so a frame's fan-out of 2.5 ms of CPU took 7 to 8 ms of wall time at the 99th
percentile. Pinned, the server's core runs only the server (and the kernel's work on its
behalf); the load generators share the others.

Setups with more than one server process stay unpinned.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Cores:
    server: frozenset[int] | None  # None: wherever the kernel puts it
    generators: frozenset[int] | None

    def describe(self) -> str:
        if self.server is None or self.generators is None:
            return "not pinned"
        server, others = _listed(self.server), _listed(self.generators)
        return f"server on {server}, load generators on {others}"

    def arguments(self, role: str) -> list[str]:
        """The child's ``--cpus`` option for ``role`` ("server", or a load generator's)."""
        cores = self.server if role == "server" else self.generators
        return ["--cpus", _listed(cores)] if cores else []


def _listed(cores: frozenset[int]) -> str:
    return ",".join(map(str, sorted(cores)))


def placement(servers: int) -> Cores:
    available = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if servers != 1 or len(available) < 2:
        return Cores(None, None)
    return Cores(frozenset(available[:1]), frozenset(available[1:]))


def pin_server() -> None:
    """In a server's child process before it runs (``preexec_fn``): the server's core."""
    cores = placement(1).server
    if cores:
        os.sched_setaffinity(0, cores)


def pin(cores: str | None) -> None:
    """In a child: run only on ``cores`` ("0" or "1,2,3"); threads made later inherit it."""
    if cores:
        os.sched_setaffinity(0, {int(c) for c in cores.split(",")})
