"""Stays opened and closed together: a join storm's arrivals, or the departures when a
session ends or a network drops everyone, share one transaction.

At the start of a side event hundreds of people enter within a second, and at its end,
or when a process restarts, hundreds leave as one. One statement and one commit each was
a quarter of what a join cost, and a departure storm of 1,000 took 2.5 s of the event
loop; on SQLite the writers also took turns on its single lock. Here each arrival and
departure waits for a batch written in one transaction, so an arrival's stay is still
committed before its ``room.enter`` is answered. While one batch is being written the
next one gathers: under load batches grow by themselves, and alone a person waits for no
one. Arrivals and departures share the queue and are written in the order they came, so a
person who leaves and comes back has a closed stay and then an open one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from itertools import groupby
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sidestage.platform.batches import GroupCommit
from sidestage.platform.db import utcnow
from sidestage.rooms.attendance.service import CLOSE_IF_OPEN, OPEN_UNLESS_OPEN, ending

Pair = tuple[int, int]  # (session, account)
Change = tuple[Literal["open", "close"], dict[str, Any]]  # and the statement's parameters
WRITTEN_WITHIN = 30.0  # seconds a departure waits at most for its stay to be written


class Stays:
    def __init__(self, db: async_sessionmaker[AsyncSession]) -> None:
        self._commits: GroupCommit[Change] = GroupCommit(db, _write)
        self._unwritten: dict[Pair, asyncio.Future[None]] = {}

    def expect(self, session_id: int, account_id: int) -> asyncio.Future[None]:
        """Note, before anything is awaited, that this person's stay here will be opened
        (``open``) or not after all (``abandon``): a departure in between waits for it."""
        pair = (session_id, account_id)
        expected: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        expected.add_done_callback(lambda done: self._forget(pair, done))
        self._unwritten[pair] = expected
        return expected

    def open(
        self,
        session_id: int,
        account_id: int,
        organization_id: int | None,
        expected: asyncio.Future[None] | None = None,
    ) -> Awaitable[None]:
        """Start a stay unless one is open; what it returns is done once that is committed.
        Shielded: a person who leaves while waiting still had their stay."""
        done = expected if expected is not None else self.expect(session_id, account_id)
        stay = {
            "session_id": session_id,
            "account_id": account_id,
            "organization_id": organization_id,
            "now": utcnow(),
        }
        return self._commits.submit(("open", stay), done)

    def abandon(self, session_id: int, account_id: int, expected: asyncio.Future[None]) -> None:
        """The stay ``expect`` announced will not be opened (the entry failed)."""
        if not expected.done():
            expected.set_result(None)

    async def written(self, session_id: int, account_id: int) -> None:
        """Wait until this person's stay here, if one is being opened, is committed: a
        departure must not close the stay before it exists. Bounded: an entry cut off
        before it could say (a server stopping) must not hold the departure for ever."""
        pending = self._unwritten.get((session_id, account_id))
        if pending is not None:
            await asyncio.wait([pending], timeout=WRITTEN_WITHIN)

    def close(self, session_id: int, account_id: int) -> Awaitable[None]:
        """End this person's open stay here; done once that is committed. Asked for at
        once, in order with what came before, unless a stay is still being opened here:
        then once that is written."""
        if (session_id, account_id) in self._unwritten:
            return self._close_once_written(session_id, account_id)
        return self._submit_close(session_id, account_id)

    async def _close_once_written(self, session_id: int, account_id: int) -> None:
        await self.written(session_id, account_id)
        await self._submit_close(session_id, account_id)

    def _submit_close(self, session_id: int, account_id: int) -> Awaitable[None]:
        return self._commits.submit(("close", ending(session_id, account_id, utcnow())))

    def _forget(self, pair: Pair, done: asyncio.Future[None]) -> None:
        if self._unwritten.get(pair) is done:
            del self._unwritten[pair]


async def _write(db: AsyncSession, changes: list[Change]) -> None:
    """Each run of openings, or of closings, as one statement with many parameter sets,
    in the order they were asked for."""
    for kind, run in groupby(changes, key=lambda change: change[0]):
        statement = OPEN_UNLESS_OPEN if kind == "open" else CLOSE_IF_OPEN
        await db.execute(statement, [parameters for _, parameters in run])
