"""Whether a copy of rarely changing rows, kept between commands, is still good.

Every live-room command needs the same few rows: who is asking and their role grants,
the room's session, its settings, its mutes and removals. Those rows change a few times
an hour; reading them again on every command was most of a command's cost. So a process
keeps copies, each tagged with the *epoch* current when it was read. A commit that
changed any such row moves the epoch on: at once in this process, and through Redis in
every other one. A copy is good while its epoch is still the current one.

Some rows belong to one room and change more often (its chat, its polls, its shared
tools): those move only their room's epoch, so a copy of one room's state outlives the
chat of every other room.

The order is what makes this safe: read the epoch first, then the rows. A commit landing
between the two leaves the copy tagged with the epoch before it, so the next command
drops the copy. The copy also expires after ``MAX_AGE``, in case a process died between
its commit and its bump, or a row was changed outside the application.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar, cast

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

log = logging.getLogger("sidestage.epochs")
KEY = "sidestage:epoch"
ROOM_KEY = "sidestage:epoch:room:{}"
SETTLE_WITHIN = 2.0  # seconds an answer waits for the shared counts to move
BUMP_RETRY = 0.25  # seconds between attempts to move the shared counts while Redis is away
MAX_AGE = 300.0  # seconds a copy is trusted at most (bumps are what count; this is the net)
MOVED = "sidestage.epoch_moved"  # flags in a session's ``info``
MOVED_ROOMS = "sidestage.epoch_moved_rooms"
ROOM_EPOCHS_READ = "sidestage.room_epochs_read"  # room -> its epoch, read in this session

T = TypeVar("T")
K = TypeVar("K")
Epoch = tuple[int, ...]  # this process's counts, then the shared counts in Redis


@dataclass(frozen=True)
class _Rule:
    inserts: bool  # whether a new row matters (it cannot be in a copy before it exists)
    room: str | None  # the attribute naming the row's room, for rows of one room


@dataclass
class _Watch:
    models: dict[type[Any], _Rule] = field(default_factory=dict)
    local: int = 0
    rooms: dict[int, int] = field(default_factory=dict)  # room -> this process's count
    shared: set[Redis] = field(default_factory=set)
    bumping: set[asyncio.Task[None]] = field(default_factory=set)


_watch = _Watch()


def watch(model: type[Any], *, inserts: bool = True, room: str | None = None) -> None:
    """Changes to ``model``'s rows move the epoch; with ``room`` (the column naming it),
    only that room's. ``inserts=False`` where a new row cannot matter (a new account)."""
    _watch.models[model] = _Rule(inserts, room)


def room_changed(db: AsyncSession, room: int) -> None:
    """Move ``room``'s epoch when ``db`` commits: for a statement that changes one room's
    watched rows without naming them (a counter bumped in place, rows deleted by key)."""
    db.sync_session.info.setdefault(MOVED_ROOMS, set()).add(room)


class Epochs:
    """One process's view of the epochs; with Redis, shared with every other process.

    ``generation`` moves on whenever Redis could not be read: a Redis restarted without
    its data counts again from zero, and could come back to the very count a copy was
    read under; no copy read before an outage is trusted after it."""

    def __init__(self, redis: Redis | None = None) -> None:
        self.redis = redis
        self.generation = 0
        if redis is not None:
            _watch.shared.add(redis)  # this process's commits move the shared counts

    def lost_redis(self) -> None:
        """Redis was out of reach: every copy is read again once it is back."""
        self.generation += 1

    async def current(self) -> Epoch:
        local = _watch.local  # read before the shared count, as both before the rows
        if self.redis is None:
            return (local,)
        try:
            shared = await self.redis.get(KEY)
        except (RedisError, OSError):
            self.lost_redis()
            raise
        return (local, self.generation, int(shared or 0))

    async def of_room(self, room: int) -> Epoch:
        """The epoch and the room's own: a copy of the room's state is good while both are."""
        return (await self.current_and_room(room))[1]

    async def current_and_room(self, room: int) -> tuple[Epoch, Epoch]:
        """``current()`` and ``of_room(room)`` from one read (one round trip to Redis)."""
        local, local_room = _watch.local, _watch.rooms.get(room, 0)
        if self.redis is None:
            return (local,), (local, local_room)
        try:
            counts = await self.redis.mget(KEY, ROOM_KEY.format(room))
        except (RedisError, OSError):
            self.lost_redis()
            raise
        shared, shared_room = (int(count or 0) for count in counts)
        generation = self.generation
        return (local, generation, shared), (local, local_room, generation, shared, shared_room)

    async def of_room_in(self, db: AsyncSession, room: int) -> Epoch:
        """``of_room``, read once per database session, that is per command, as the
        dispatcher reads the global epoch once: each read is a round trip to Redis when
        processes share the epochs. The first read is still before the room's rows."""
        read: dict[int, Epoch] = db.info.setdefault(ROOM_EPOCHS_READ, {})
        epoch = read.get(room)
        if epoch is None:
            epoch = read[room] = await self.of_room(room)
        return epoch

    @staticmethod
    def read_for_room(db: AsyncSession, room: int, epoch: Epoch) -> None:
        """What ``of_room_in`` answers in ``db`` for ``room`` from now on (read earlier)."""
        db.info.setdefault(ROOM_EPOCHS_READ, {})[room] = epoch

    def close(self) -> None:
        if self.redis is not None:
            _watch.shared.discard(self.redis)  # its retries, if any, end with it


async def settled() -> None:
    """Wait until this process's commits have moved the shared counts: an answer sent
    after this finds every process dropping the copies the commit outdated. With Redis
    away that cannot be, and the answer goes after ``SETTLE_WITHIN`` (the counts move
    when it is back)."""
    if _watch.bumping:
        await asyncio.wait(list(_watch.bumping), timeout=SETTLE_WITHIN)


@dataclass(frozen=True)
class Copy(Generic[T]):
    value: T
    epoch: Epoch
    read_at: float = field(default_factory=time.monotonic)

    def good(self, epoch: Epoch) -> bool:
        return self.epoch == epoch and time.monotonic() - self.read_at < MAX_AGE


class Copies(Generic[K, T]):
    """Copies kept per key (a room), each read again once the epoch it was read under
    has moved on. ``read`` never runs for a copy that is still good, and runs once for
    everyone asking under the same epoch at the same time: the first hundred of a join
    storm would otherwise all read the same rows."""

    def __init__(self, read: Callable[[AsyncSession, K], Awaitable[T]]) -> None:
        self._read = read
        self._copies: dict[K, Copy[T]] = {}
        self._reading: dict[K, tuple[Epoch, asyncio.Future[Any]]] = {}

    async def get(self, db: AsyncSession, key: K, epoch: Epoch) -> T:
        """``epoch``: read before this call, before any of the rows."""
        copy = self._copies.get(key)
        if copy is not None and copy.good(epoch):
            return copy.value
        reading = self._reading.get(key)
        if reading is not None and reading[0] == epoch:
            value = await asyncio.shield(reading[1])
            if value is not _FAILED:
                return cast(T, value)
            # The first reader failed or went away; this one reads for itself.
        return await self._read_once(db, key, epoch)

    def advance(self, key: K, old: T, new: T) -> None:
        """Keep ``new`` in place of ``old`` under the same epoch: ``old`` brought forward by
        changes its owner knows of (a room's chat). A copy read meanwhile stays."""
        copy = self._copies.get(key)
        if copy is not None and copy.value is old:
            self._copies[key] = replace(copy, value=new)

    def forget(self, key: K, old: T) -> None:
        """Read again at the next ``get``, unless a copy other than ``old`` is there now."""
        copy = self._copies.get(key)
        if copy is not None and copy.value is old:
            del self._copies[key]

    async def _read_once(self, db: AsyncSession, key: K, epoch: Epoch) -> T:
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._reading[key] = (epoch, done)
        value: Any = _FAILED
        try:
            value = await self._read(db, key)
            self._copies[key] = Copy(value, epoch)
            return cast(T, value)
        finally:
            done.set_result(value)
            if self._reading.get(key) == (epoch, done):
                del self._reading[key]


_FAILED = object()  # what waiters on a read that failed are given


def _bump(rooms: set[int], everything: bool) -> None:
    if everything:
        _watch.local += 1
    for room in rooms:
        _watch.rooms[room] = _watch.rooms.get(room, 0) + 1
    if not _watch.shared:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return  # a synchronous script: no process of ours shares its copies
    keys = [KEY] if everything else []
    keys += [ROOM_KEY.format(room) for room in sorted(rooms)]
    for redis in list(_watch.shared):
        task = loop.create_task(_bump_shared(redis, keys))
        _watch.bumping.add(task)
        task.add_done_callback(_watch.bumping.discard)


async def _bump_shared(redis: Redis, keys: list[str]) -> None:
    """Move the shared counts, trying again until Redis answers: a change committed while
    Redis was away (a room made invite-only) must reach the other processes' copies as
    soon as it is back, not when they expire."""
    warned = False
    while redis in _watch.shared:
        try:
            async with redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.incr(key)
                await pipe.execute()
            return
        except (RedisError, OSError):
            if not warned:
                log.warning("could not move the shared epoch; trying again until Redis is back")
                warned = True
            await asyncio.sleep(BUMP_RETRY)


def _rule(model: type[Any], inserted: bool) -> _Rule | None:
    rule = _watch.models.get(model)
    return rule if rule is not None and (rule.inserts or not inserted) else None


@event.listens_for(Session, "after_flush")
def _note_flush(session: Session, _flush: UOWTransaction) -> None:
    changed = [(o, False) for o in session.dirty if session.is_modified(o)]
    changed += [(o, False) for o in session.deleted] + [(o, True) for o in session.new]
    for row, inserted in changed:
        rule = _rule(type(row), inserted)
        if rule is None:
            continue
        if rule.room is None:
            session.info[MOVED] = True
        else:
            session.info.setdefault(MOVED_ROOMS, set()).add(getattr(row, rule.room))


@event.listens_for(Session, "do_orm_execute")
def _note_statement(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    for mapper in state.all_mappers:
        if _rule(mapper.class_, state.is_insert) is not None:
            # Which rooms a statement touched is unknown: every copy gives way.
            state.session.info[MOVED] = True


@event.listens_for(Session, "after_commit")
def _moved_on_commit(session: Session) -> None:
    everything = bool(session.info.pop(MOVED, False))
    rooms: set[int] = session.info.pop(MOVED_ROOMS, set())
    if everything or rooms:
        _bump(rooms, everything)
