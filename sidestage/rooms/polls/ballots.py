"""Votes cast at the same moment, written in one transaction.

When a moderator opens a poll, a room's thousands vote within seconds. Written one
transaction each, the votes took turns: on SQLite for its single write lock, on
PostgreSQL for the poll row whose version each vote moves on. Here the votes of a moment
share one transaction (``platform/batches.py``): a statement for the versions of the
polls voted in, then one each for the ballots, the choices replaced and the choices
added. Each voter is still answered only once their vote is committed.

A vote is checked against its poll when it arrives, and written a moment later. A close
committed in between must not let it count: the batch moves each poll's version on only
while the poll is open, before anything else, and writes the votes of the polls it
moved. From then on the close waits for this batch (PostgreSQL's row lock, SQLite's one
writer); a poll found closed has its votes answered ``poll.closed``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, Insert, Table, bindparam, delete, insert, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sidestage.platform.batches import GroupCommit, Refusals
from sidestage.platform.db import ByDialect, utcnow
from sidestage.platform.errors import Conflict
from sidestage.rooms.polls.models import Poll, PollBallot, PollChoice, PollStatus


@dataclass(frozen=True)
class Vote:
    poll_id: int
    account_id: int
    choices: tuple[int, ...]  # valid, checked against the poll


class Ballots:
    def __init__(self, db: async_sessionmaker[AsyncSession]) -> None:
        self._commits: GroupCommit[Vote] = GroupCommit(db, _write)

    def cast(self, poll_id: int, account_id: int, choices: Sequence[int]) -> Awaitable[None]:
        """Done once the vote, replacing the person's earlier one, is committed."""
        return self._commits.submit(Vote(poll_id, account_id, tuple(choices)))


async def _write(db: AsyncSession, votes: list[Vote]) -> Refusals:
    still_open = await _count_in_open_polls(db, votes)
    refused: dict[int, Exception] = {
        index: Conflict("poll.closed", "This poll is not open for votes.")
        for index, vote in enumerate(votes)
        if vote.poll_id not in still_open
    }
    # A person's later vote in the same batch (another tab) replaces the earlier, as it
    # would have one transaction later. Ordered by poll and person, every process takes
    # the rows' locks in the same order: two batches cannot wait for each other.
    latest = {(v.poll_id, v.account_id): v for v in votes if v.poll_id in still_open}
    cast_now = [latest[key] for key in sorted(latest)]
    if not cast_now:
        return refused
    people = [{"poll_id": vote.poll_id, "account_id": vote.account_id} for vote in cast_now]
    now = utcnow()
    await db.execute(_STATEMENTS.ballot(db), [{**person, "updated_at": now} for person in people])
    await db.execute(_STATEMENTS.replace_choices, people)
    chosen = [
        {**person, "option": option}
        for person, vote in zip(people, cast_now, strict=True)
        for option in vote.choices
    ]
    await db.execute(_STATEMENTS.add_choice, chosen)
    return refused


async def _count_in_open_polls(db: AsyncSession, votes: list[Vote]) -> set[int]:
    """The polls still open, each one's version moved on by its votes in this batch (one
    per vote cast, so the next tally always reads newer). In poll order, so batches take
    the polls' row locks in one order. Through the table, not the mapped class: the
    version is no part of what rooms keep of a poll (``platform/epochs.py``)."""
    counted = Counter(vote.poll_id for vote in votes)
    still_open = set()
    for poll, n in sorted(counted.items()):
        moved = await db.execute(_STATEMENTS.count, {"poll": poll, "votes": n})
        if cast(CursorResult[Any], moved).rowcount:
            still_open.add(poll)
    return still_open


class _Statements:
    """Built once: building them was a fifth of what a vote cost."""

    def __init__(self) -> None:
        ballots = cast(Table, PollBallot.__table__)
        choices = cast(Table, PollChoice.__table__)
        polls = cast(Table, Poll.__table__)
        # Insert the ballot or touch it; on PostgreSQL this also locks it until commit,
        # which serialises two processes replacing the same person's choices.
        self.ballot = ByDialect(lambda insert: _touched_on_conflict(insert(ballots)))
        self.replace_choices = delete(choices).where(
            choices.c.poll_id == bindparam("poll_id"),
            choices.c.account_id == bindparam("account_id"),
        )
        self.add_choice = insert(choices)
        self.count = (
            update(polls)
            .where(polls.c.id == bindparam("poll"), polls.c.status == PollStatus.OPEN)
            .values(version=polls.c.version + bindparam("votes"))
        )


def _touched_on_conflict(statement: Any) -> Insert:
    excluded = statement.excluded
    return cast(
        Insert,
        statement.on_conflict_do_update(
            index_elements=["poll_id", "account_id"], set_={"updated_at": excluded.updated_at}
        ),
    )


_STATEMENTS = _Statements()
