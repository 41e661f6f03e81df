"""Votes cast at once, committed together, each before its voter is answered."""

from __future__ import annotations

import asyncio

from sqlalchemy import event, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sidestage.platform.accounts.models import Account
from sidestage.platform.errors import Conflict
from sidestage.rooms.polls import service as polls
from sidestage.rooms.polls.ballots import Ballots
from sidestage.rooms.polls.models import Poll, PollStatus
from tests.rooms_world import World

Factory = async_sessionmaker[AsyncSession]


async def _setup(db: Factory, world: World, voters: int) -> tuple[Poll, list[int]]:
    async with db() as s, s.begin():
        people = [Account(display_name=f"Voter {n}", is_guest=True) for n in range(voters)]
        poll = Poll(
            session_id=world.public.id,
            question="Which?",
            options=["a", "b", "c"],
            multiple=True,
            status=PollStatus.OPEN,
        )
        s.add_all([*people, poll])
        await s.flush()
        return poll, [p.id for p in people]


def _count_commits(db: Factory) -> list[int]:
    commits: list[int] = []
    event.listen(db.kw["bind"].sync_engine, "commit", lambda connection: commits.append(1))
    return commits


async def _tally(db: Factory, poll: Poll) -> tuple[list[int], int, int]:
    async with db() as s:
        fresh = await s.scalar(select(Poll).where(Poll.id == poll.id))
        assert fresh is not None
        results = await polls.tally(s, fresh)
        return results.counts, results.voters, results.version


async def test_votes_at_once_share_one_transaction(db: Factory, world: World) -> None:
    poll, people = await _setup(db, world, 30)
    ballots, commits = Ballots(db), _count_commits(db)
    casts = [ballots.cast(poll.id, person, [n % 3]) for n, person in enumerate(people)]
    # The first person changes their mind in the same moment (another tab): the later
    # vote replaces the earlier, as it would one transaction later.
    casts.append(ballots.cast(poll.id, people[0], [1, 2]))
    await asyncio.gather(*casts)
    assert len(commits) == 1
    counts, voters, version = await _tally(db, poll)
    assert voters == 30
    assert counts == [9, 11, 11]  # ten each, less the first person's 0, plus their 1 and 2
    assert version == 31  # one more per vote cast, so the next tally always reads newer


async def test_one_failing_vote_fails_alone(db: Factory, world: World) -> None:
    """A vote by an account deleted meanwhile fails its own voter, not the batch's."""
    poll, people = await _setup(db, world, 3)
    ballots = Ballots(db)
    outcomes = await asyncio.gather(
        ballots.cast(poll.id, people[0], [0]),
        ballots.cast(poll.id, 987654, [0]),  # no such account: the foreign key refuses
        ballots.cast(poll.id, people[2], [2]),
        return_exceptions=True,
    )
    assert outcomes[0] is None and outcomes[2] is None
    assert isinstance(outcomes[1], Exception)
    counts, voters, _ = await _tally(db, poll)
    assert (counts, voters) == ([1, 0, 1], 2)


async def _close(db: Factory, poll: Poll) -> None:
    async with db() as s, s.begin():
        await s.execute(update(Poll).where(Poll.id == poll.id).values(status=PollStatus.CLOSED))


async def test_a_vote_checked_before_its_poll_closed_does_not_count(
    db: Factory, world: World
) -> None:
    """The close commits between the votes' check (done when they arrived) and their
    write: those votes are refused, the other poll's in the same batch are committed."""
    closing, people = await _setup(db, world, 4)
    staying, _ = await _setup(db, world, 0)
    await _close(db, closing)
    ballots, commits = Ballots(db), _count_commits(db)
    outcomes = await asyncio.gather(
        ballots.cast(closing.id, people[0], [0]),
        ballots.cast(staying.id, people[1], [1]),
        ballots.cast(closing.id, people[2], [2]),
        ballots.cast(staying.id, people[3], [2]),
        return_exceptions=True,
    )
    assert outcomes[1] is None and outcomes[3] is None
    for refused in (outcomes[0], outcomes[2]):
        assert isinstance(refused, Conflict) and refused.code == "poll.closed"
    assert len(commits) == 1  # the refusals cost the batch nothing
    assert await _tally(db, closing) == ([0, 0, 0], 0, 0)
    assert await _tally(db, staying) == ([0, 1, 1], 2, 2)
