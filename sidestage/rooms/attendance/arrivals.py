"""Stays opened together: the arrivals of a join storm share one transaction.

At the start of a side event hundreds of people enter within a second. One INSERT and
one commit each was a quarter of what a join cost, and on SQLite hundreds of writers
took turns on its single lock. Here each arrival waits for a batch written in one
transaction, so the stay is still committed before the person's ``room.enter`` is
answered. While one batch is being written the next one gathers: under load batches
grow by themselves, and alone a person waits for no one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sidestage.platform.batches import GroupCommit
from sidestage.platform.db import utcnow
from sidestage.rooms.attendance.service import OPEN_UNLESS_OPEN

Pair = tuple[int, int]  # (session, account)
WRITTEN_WITHIN = 30.0  # seconds a departure waits at most for its stay to be written


class Arrivals:
    def __init__(self, db: async_sessionmaker[AsyncSession]) -> None:
        self._commits: GroupCommit[dict[str, Any]] = GroupCommit(db, _open_stays)
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
        return self._commits.submit(stay, done)

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

    def _forget(self, pair: Pair, done: asyncio.Future[None]) -> None:
        if self._unwritten.get(pair) is done:
            del self._unwritten[pair]


async def _open_stays(db: AsyncSession, stays: list[dict[str, Any]]) -> None:
    await db.execute(OPEN_UNLESS_OPEN, stays)
