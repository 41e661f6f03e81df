"""Whether a copy of rarely changing rows, kept between commands, is still good.

Every live-room command needs the same few rows: who is asking and their role grants,
the room's session, its settings, its mutes and removals. Those rows change a few times
an hour; reading them again on every command was most of a command's cost. So a process
keeps copies, each tagged with the *epoch* current when it was read. A commit that
changed any such row moves the epoch on: at once in this process, and through Redis in
every other one. A copy is good while its epoch is still the current one.

Some rows belong to one room and change more often (its polls, its questions, its shared
tools): those move only their room's epoch, so a copy of one room's state outlives the
changes of every other room.

Each kind of copy declares the tables it keeps (``Kept``, beside the code that reads
them); ``track`` gives one database session factory its own ``EpochCounts``, moved by
the commits of that factory's sessions alone. Nothing here belongs to the process: two
apps in one process (as tests run them) keep their own counts.

The order is what makes this safe: read the epoch first, then the rows. A commit landing
between the two leaves the copy tagged with the epoch before it, so the next command
drops the copy. The copy also expires after ``MAX_AGE``, in case a process died between
its commit and its bump, or a row was changed outside the application.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar, cast

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

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
class Kept:
    """A table whose rows some copy keeps: changing them moves the epoch; with ``room``
    (the column naming it), only that room's. ``inserts=False`` where a new row cannot
    be in any copy yet (a new account)."""

    model: type[Any]
    inserts: bool = True
    room: str | None = None


def room_changed(db: AsyncSession, room: int) -> None:
    """Move ``room``'s epoch when ``db`` commits: for a statement that changes one room's
    kept rows without naming them (a counter bumped in place, rows deleted by key)."""
    db.sync_session.info.setdefault(MOVED_ROOMS, set()).add(room)


@dataclass
class EpochCounts:
    """One database's epochs as this process moves them: its own counts, and the Redis
    counts it moves for the other processes (``Epochs`` reads both)."""

    rules: dict[type[Any], Kept]
    local: int = 0
    rooms: dict[int, int] = field(default_factory=dict)  # room -> this process's count
    shared: set[Redis] = field(default_factory=set)
    bumping: set[asyncio.Task[None]] = field(default_factory=set)

    async def settled(self) -> None:
        """Wait until this process's commits have moved the shared counts: an answer sent
        after this finds every process dropping the copies the commit outdated. With Redis
        away that cannot be, and the answer goes after ``SETTLE_WITHIN`` (the counts move
        when it is back)."""
        if self.bumping:
            await asyncio.wait(list(self.bumping), timeout=SETTLE_WITHIN)

    def bump(self, rooms: set[int], everything: bool) -> None:
        if everything:
            self.local += 1
        for room in rooms:
            self.rooms[room] = self.rooms.get(room, 0) + 1
        if not self.shared:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # a synchronous script: no process of ours shares its copies
        keys = [KEY] if everything else []
        keys += [ROOM_KEY.format(room) for room in sorted(rooms)]
        for redis in list(self.shared):
            task = loop.create_task(self._bump_shared(redis, keys))
            self.bumping.add(task)
            task.add_done_callback(self.bumping.discard)

    async def _bump_shared(self, redis: Redis, keys: list[str]) -> None:
        """Move the shared counts, trying again until Redis answers: a change committed
        while Redis was away (a room made invite-only) must reach the other processes'
        copies as soon as it is back, not when they expire."""
        warned = False
        while redis in self.shared:
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

    def rule(self, model: type[Any], inserted: bool) -> Kept | None:
        rule = self.rules.get(model)
        return rule if rule is not None and (rule.inserts or not inserted) else None


def track(factory: async_sessionmaker[AsyncSession], kept: Iterable[Kept]) -> EpochCounts:
    """Counts moved by the commits of ``factory``'s sessions that change ``kept`` tables:
    listeners on the factory's own session class (``platform/db.py session_factory``),
    not on every SQLAlchemy session of the process."""
    counts = EpochCounts(_merged(kept))
    session_class = factory.kw["sync_session_class"]
    event.listen(session_class, "after_flush", lambda s, _: _note_flush(counts, s))
    event.listen(session_class, "do_orm_execute", lambda state: _note_statement(counts, state))
    event.listen(session_class, "after_commit", lambda s: _moved_on_commit(counts, s))
    if not event.contains(session_class, "after_transaction_end", _forget_moves):
        event.listen(session_class, "after_transaction_end", _forget_moves)
    return counts


def _merged(kept: Iterable[Kept]) -> dict[type[Any], Kept]:
    """One rule per table: kept by several copies, the widest (any room's change moves the
    epoch of all when one copy keeps the table whole)."""
    rules: dict[type[Any], Kept] = {}
    for one in kept:
        other = rules.get(one.model)
        if other is None:
            rules[one.model] = one
            continue
        room = one.room if one.room == other.room else None
        rules[one.model] = Kept(one.model, one.inserts or other.inserts, room)
    return rules


def _note_flush(counts: EpochCounts, session: Session) -> None:
    changed = [(o, False) for o in session.dirty if session.is_modified(o)]
    changed += [(o, False) for o in session.deleted] + [(o, True) for o in session.new]
    for row, inserted in changed:
        rule = counts.rule(type(row), inserted)
        if rule is None:
            continue
        if rule.room is None:
            session.info[MOVED] = True
        else:
            session.info.setdefault(MOVED_ROOMS, set()).add(getattr(row, rule.room))


def _note_statement(counts: EpochCounts, state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    for mapper in state.all_mappers:
        if counts.rule(mapper.class_, state.is_insert) is not None:
            # Which rooms a statement touched is unknown: every copy gives way.
            state.session.info[MOVED] = True


def _moved_on_commit(counts: EpochCounts, session: Session) -> None:
    everything = bool(session.info.get(MOVED, False))
    rooms: set[int] = set(session.info.get(MOVED_ROOMS, ()))
    if everything or rooms:
        counts.bump(rooms, everything)


def _forget_moves(session: Session, transaction: SessionTransaction) -> None:
    """The transaction's changes were counted at its commit, or rolled back: the session's
    next transaction starts with none."""
    if transaction.parent is None:
        session.info.pop(MOVED, None)
        session.info.pop(MOVED_ROOMS, None)


class Epochs:
    """One process's view of the epochs of ``counts``'s database; with Redis, shared with
    every other process.

    ``generation`` moves on whenever Redis could not be read: a Redis restarted without
    its data counts again from zero, and could come back to the very count a copy was
    read under; no copy read before an outage is trusted after it."""

    def __init__(self, counts: EpochCounts, redis: Redis | None = None) -> None:
        self.counts = counts
        self.redis = redis
        self.generation = 0
        if redis is not None:
            counts.shared.add(redis)  # this process's commits move the shared counts

    def lost_redis(self) -> None:
        """Redis was out of reach: every copy is read again once it is back."""
        self.generation += 1

    async def current(self) -> Epoch:
        local = self.counts.local  # read before the shared count, as both before the rows
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
        local, local_room = self.counts.local, self.counts.rooms.get(room, 0)
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

    async def settled(self) -> None:
        await self.counts.settled()

    def close(self) -> None:
        if self.redis is not None:
            self.counts.shared.discard(self.redis)  # its retries, if any, end with it


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
