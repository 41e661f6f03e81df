"""Many callers' reads, or writes, made as one: what is asked while a batch runs goes in
the next.

In a join storm hundreds of connections each ask for a few rows at once. One statement
(and one pooled connection) per caller was most of a join's database cost, and on SQLite
every extra concurrent reader beyond the pool opened a connection of its own. A
``Batches`` gathers the keys asked for while the previous batch is being read: under load
the batches grow by themselves, and a caller alone waits for no one. ``GroupCommit`` does
the same for writes: a join storm's stays, a vote burst's ballots.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Mapping
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sidestage.platform.db import transaction

K = TypeVar("K", bound=Hashable)
R = TypeVar("R")
W = TypeVar("W")
# What a batch's ``write`` turned down, by position in the batch: each item's writer gets
# its exception, and the rest of the batch is committed all the same.
Refusals = Mapping[int, Exception]

# Keys in one read at most: an IN list of this many parameters is well within SQLite's
# and PostgreSQL's limits, and a read that size takes a few milliseconds.
MOST_AT_ONCE = 500


class Batches(Generic[K, R]):
    """``read(keys)`` answers what it found for each key; a key it leaves out gets None.
    If a read fails, everyone in that batch gets its exception."""

    def __init__(self, read: Callable[[list[K]], Awaitable[Mapping[K, R]]]) -> None:
        self._read = read
        self._gathering: dict[K, asyncio.Future[R | None]] = {}
        self._reader: asyncio.Task[None] | None = None

    def ask(self, key: K) -> Awaitable[R | None]:
        answer = self._gathering.get(key)
        if answer is None:
            answer = self._gathering[key] = asyncio.get_running_loop().create_future()
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read_batches())
        return asyncio.shield(answer)  # one caller giving up does not cancel the others

    async def _read_batches(self) -> None:
        while self._gathering:
            keys = list(self._gathering)[:MOST_AT_ONCE]
            batch = {key: self._gathering.pop(key) for key in keys}
            try:
                found = await self._read(keys)
            except asyncio.CancelledError:  # the server stopping: no one waits for ever
                for answer in (*batch.values(), *self._gathering.values()):
                    answer.cancel()
                self._gathering.clear()
                raise
            except Exception as error:
                for answer in batch.values():
                    answer.set_exception(error)
                continue
            for key, answer in batch.items():
                answer.set_result(found.get(key))


class GroupCommit(Generic[W]):
    """Writes asked for at once, committed in one transaction by ``write(db, items)``.

    Each writer waits until its item is committed, so what a person sent is still
    committed before they are answered. ``write`` may turn items down, having written
    nothing of them, by returning their ``Refusals``. If a batch fails, its items are
    written one by one, so that one item's failure (its row's parent just deleted) is
    its own alone.
    """

    def __init__(
        self,
        db: async_sessionmaker[AsyncSession],
        write: Callable[[AsyncSession, list[W]], Awaitable[Refusals | None]],
    ) -> None:
        self._db = db
        self._write = write
        self._gathering: list[tuple[W, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    def submit(self, item: W, done: asyncio.Future[None] | None = None) -> Awaitable[None]:
        """Done once ``item`` is committed (``done``, if given, is told too). Shielded: a
        writer who goes away while waiting has still written."""
        if done is None:
            done = asyncio.get_running_loop().create_future()
        self._gathering.append((item, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_batches())
        return asyncio.shield(done)

    async def _write_batches(self) -> None:
        try:
            while self._gathering:
                batch = self._gathering[:MOST_AT_ONCE]
                del self._gathering[:MOST_AT_ONCE]
                if not await self._commit(batch) and len(batch) > 1:
                    for one in batch:
                        await self._commit([one])
        except asyncio.CancelledError:  # the server stopping: no one waits for ever
            for _, done in self._gathering:
                done.cancel()
            self._gathering.clear()
            raise

    async def _commit(self, batch: list[tuple[W, asyncio.Future[None]]]) -> bool:
        """Whether the batch was committed; a lone item's writer is told its error."""
        try:
            async with transaction(self._db) as db:
                refused = await self._write(db, [item for item, _ in batch]) or {}
        except Exception as error:
            if len(batch) == 1:
                _fail(batch[0][1], error)
            return False
        for index, (_, done) in enumerate(batch):
            if index in refused:
                _fail(done, refused[index])
            elif not done.done():
                done.set_result(None)
        return True


def _fail(done: asyncio.Future[None], error: Exception) -> None:
    if not done.done():
        done.set_exception(error)
        done.exception()  # read: a writer that went away leaves it unawaited
