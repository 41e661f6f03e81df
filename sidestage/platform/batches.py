"""Many callers' reads made as one: what is asked while a batch runs goes in the next.

In a join storm hundreds of connections each ask for a few rows at once. One statement
(and one pooled connection) per caller was most of a join's database cost, and on SQLite
every extra concurrent reader beyond the pool opened a connection of its own. A
``Batches`` gathers the keys asked for while the previous batch is being read: under load
the batches grow by themselves, and a caller alone waits for no one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Mapping
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
R = TypeVar("R")

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
