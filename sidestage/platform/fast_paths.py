"""Which of Sidestage's fast paths run in this process: one switch and one policy.

A fast path replaces one step of another library (python-socketio, python-engineio,
aiohttp, aiortc, pylibsrtp, SQLAlchemy's aiosqlite adapter) with code that relies on that
library's private names. They live in an ``accel`` package per layer
(``platform/accel``, ``realtime/accel``, ``realtime/media/accel``), and each declares a
``FastPath``: what it replaces, what runs instead, and ``missing()``, the private names it
uses that this process's libraries no longer have.

The policy is the same for all: the first time a path is asked for, its names are
checked; if any is gone, the stock step runs instead and one warning says which path fell
back and why. ``SIDESTAGE_FAST_PATHS=off`` runs every stock step, which is how the tests
show that a fallback is slower, never wrong.

Some private code has no stock step to fall back to (aiortc hands out no encoded frames):
such a path is ``needed``. The switch leaves it on; if its names are gone, what depends on
it (the stage) is unavailable, and the rest of Sidestage goes on.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("sidestage.fast_paths")
SWITCH = "SIDESTAGE_FAST_PATHS"  # "off" runs every stock step


@dataclass(frozen=True)
class FastPath:
    name: str  # "<layer>.<piece>", as in the start-up log and `sidestage fast-paths`
    replaces: str  # the library's step, in a few words
    instead: str  # what runs when this path does not
    missing: Callable[[], list[str]]  # private names this process's libraries lack
    needed: bool = False  # no stock step: the switch does not turn it off


@dataclass(frozen=True)
class Decision:
    path: FastPath
    runs: bool
    why: str  # empty when it runs

    def describe(self) -> str:
        state = "on" if self.runs else f"off ({self.why}): {self.path.instead}"
        return f"{self.path.name}: {state}"


_decided: dict[str, Decision] = {}  # libraries are the process's: so is what they allow


def switched_off() -> bool:
    return os.environ.get(SWITCH, "on").strip().lower() in ("off", "0", "false", "no")


def runs(path: FastPath) -> bool:
    """Whether ``path`` runs in this process: decided (and logged) once."""
    return decide(path).runs


def decide(path: FastPath) -> Decision:
    decision = _decided.get(path.name)
    if decision is None:
        decision = _decided[path.name] = _decision(path)
        if not decision.runs:
            log_it = log.info if decision.why == f"{SWITCH}=off" else log.warning
            log_it("fast path %s", decision.describe())
    return decision


def _decision(path: FastPath) -> Decision:
    if switched_off() and not path.needed:
        return Decision(path, False, f"{SWITCH}=off")
    try:
        missing = path.missing()
    except Exception as error:  # a check that cannot even look: the same as missing
        missing = [f"{type(error).__name__}: {error}"]
    if missing:
        return Decision(path, False, "missing " + ", ".join(missing))
    return Decision(path, True, "")


def forget() -> None:
    """Decide again from now on: for tests that change the switch or a library."""
    _decided.clear()


def checks(*modules: str) -> Callable[[], list[str]]:
    """``missing`` for a path whose modules each define ``missing()``: imported only when
    asked, so a library that broke one at import shows as what it lacks, not a crash."""
    return lambda: [
        name for module in modules for name in importlib.import_module(module).missing()
    ]


def lacking(owner: object, *names: str) -> list[str]:
    """Which of ``names`` ``owner`` (a class or module) has not, as ``Owner.name``."""
    label = getattr(owner, "__qualname__", None) or getattr(owner, "__name__", repr(owner))
    return [f"{label}.{name}" for name in names if not hasattr(owner, name)]


def source_lacks(function: Any, *needles: str) -> list[str]:
    """Which lines a private step's source no longer contains (none when no source ships:
    the per-instance checks then decide)."""
    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):
        return []
    label = getattr(function, "__qualname__", repr(function))
    return [f"{label} containing {needle!r}" for needle in needles if needle not in source]
