"""Whether a copy of rarely changing rows, kept between commands, is still good.

Every live-room command needs the same few rows: who is asking and their role grants,
the room's session, its settings, its mutes and removals. Those rows change a few times
an hour; reading them again on every command was most of a command's cost. So a process
keeps copies, each tagged with the *epoch* current when it was read. A commit that
changed any such row moves the epoch on: at once in this process, and through Redis in
every other one. A copy is good while its epoch is still the current one.

The order is what makes this safe: read the epoch first, then the rows. A commit landing
between the two leaves the copy tagged with the epoch before it, so the next command
drops the copy. The copy also expires after ``MAX_AGE``, in case a process died between
its commit and its bump, or a row was changed outside the application.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

log = logging.getLogger("sidestage.epochs")
KEY = "sidestage:epoch"
MAX_AGE = 60.0  # seconds a copy is trusted at most
MOVED = "sidestage.epoch_moved"  # the flag in a session's ``info``

T = TypeVar("T")
Epoch = tuple[int, int]  # (this process's count, the shared count in Redis)


@dataclass
class _Watch:
    models: dict[type[Any], bool] = field(default_factory=dict)  # model -> inserts matter
    local: int = 0
    shared: set[Redis] = field(default_factory=set)
    bumping: set[asyncio.Task[None]] = field(default_factory=set)


_watch = _Watch()


def watch(model: type[Any], *, inserts: bool = True) -> None:
    """Changes to ``model``'s rows move the epoch. ``inserts=False`` where a new row cannot
    be in anyone's copy yet (a new account)."""
    _watch.models[model] = inserts


class Epochs:
    """One process's view of the epoch; with Redis, shared with every other process."""

    def __init__(self, redis: Redis | None = None) -> None:
        self.redis = redis
        if redis is not None:
            _watch.shared.add(redis)  # this process's commits move the shared count

    async def current(self) -> Epoch:
        local = _watch.local  # read before the shared count, as both before the rows
        if self.redis is None:
            return (local, 0)
        return (local, int(await self.redis.get(KEY) or 0))

    def close(self) -> None:
        if self.redis is not None:
            _watch.shared.discard(self.redis)


async def settled() -> None:
    """Wait until this process's commits have moved the shared count: an answer sent
    after this finds every process dropping the copies the commit outdated."""
    if _watch.bumping:
        await asyncio.gather(*list(_watch.bumping))


@dataclass(frozen=True)
class Copy(Generic[T]):
    value: T
    epoch: Epoch
    read_at: float = field(default_factory=time.monotonic)

    def good(self, epoch: Epoch) -> bool:
        return self.epoch == epoch and time.monotonic() - self.read_at < MAX_AGE


def _bump() -> None:
    _watch.local += 1
    if not _watch.shared:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return  # a synchronous script: no process of ours shares its copies
    for redis in list(_watch.shared):
        task = loop.create_task(_bump_shared(redis))
        _watch.bumping.add(task)
        task.add_done_callback(_watch.bumping.discard)


async def _bump_shared(redis: Redis) -> None:
    try:
        await redis.incr(KEY)
    except (RedisError, OSError):
        # Other processes keep their copies until MAX_AGE: the cost of a Redis outage.
        log.warning("could not move the shared epoch; other processes catch up within a minute")


def _matters(model: type[Any], inserted: bool) -> bool:
    inserts = _watch.models.get(model)
    return inserts is not None and (inserts or not inserted)


@event.listens_for(Session, "after_flush")
def _note_flush(session: Session, _flush: UOWTransaction) -> None:
    changed = [o for o in session.dirty if session.is_modified(o)] + list(session.deleted)
    if any(_matters(type(o), False) for o in changed) or any(
        _matters(type(o), True) for o in session.new
    ):
        session.info[MOVED] = True


@event.listens_for(Session, "do_orm_execute")
def _note_statement(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    for mapper in state.all_mappers:
        if _matters(mapper.class_, state.is_insert):
            state.session.info[MOVED] = True


@event.listens_for(Session, "after_commit")
def _moved_on_commit(session: Session) -> None:
    if session.info.pop(MOVED, False):
        _bump()
