"""Votes cast at the same moment, written in one transaction.

When a moderator opens a poll, a room's thousands vote within seconds. Written one
transaction each, the votes took turns: on SQLite for its single write lock, on
PostgreSQL for the poll row whose version each vote moves on. Here the votes of a moment
share one transaction (``platform/batches.py``): a statement each for the ballots, the
choices replaced, the choices added, and the versions of the polls voted in. Each voter is
still answered only once their vote is committed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Insert, Table, bindparam, delete, insert, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sidestage.platform.batches import GroupCommit
from sidestage.platform.db import ByDialect, utcnow
from sidestage.rooms.polls.models import Poll, PollBallot, PollChoice


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


async def _write(db: AsyncSession, votes: list[Vote]) -> None:
    # A person's later vote in the same batch (another tab) replaces the earlier, as it
    # would have one transaction later. Ordered by poll and person, every process takes
    # the rows' locks in the same order: two batches cannot wait for each other.
    latest = {(vote.poll_id, vote.account_id): vote for vote in votes}
    cast_now = [latest[key] for key in sorted(latest)]
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
    # Last before the commit: the poll row's lock orders the polls' tallies, and is held
    # only until the commit. Through the table, not the mapped class: the version is no
    # part of what rooms keep of a poll (``platform/epochs.py``).
    counted = Counter(vote.poll_id for vote in votes)
    await db.execute(
        _STATEMENTS.count, [{"poll": poll, "votes": n} for poll, n in sorted(counted.items())]
    )


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
            .where(polls.c.id == bindparam("poll"))
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
