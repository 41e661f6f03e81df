"""Stays opened together in one transaction, each committed before its arrival returns."""

from __future__ import annotations

import asyncio

from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sidestage.platform.accounts.models import Account
from sidestage.rooms.attendance.arrivals import Arrivals
from sidestage.rooms.attendance.models import AttendanceInterval
from tests.rooms_world import World

Factory = async_sessionmaker[AsyncSession]


async def _people(db: Factory, count: int) -> list[int]:
    async with db() as s, s.begin():
        people = [Account(display_name=f"Arrival {n}", is_guest=True) for n in range(count)]
        s.add_all(people)
        await s.flush()
        return [p.id for p in people]


async def _open_stays(db: Factory, session_id: int) -> list[int]:
    async with db() as s:
        rows = await s.scalars(
            select(AttendanceInterval.account_id).where(
                AttendanceInterval.session_id == session_id, AttendanceInterval.ended_at.is_(None)
            )
        )
        return sorted(rows)


def _count_commits(db: Factory) -> list[int]:
    commits: list[int] = []
    engine = db.kw["bind"].sync_engine
    event.listen(engine, "commit", lambda connection: commits.append(1))
    return commits


async def test_arrivals_at_once_share_one_transaction(db: Factory, world: World) -> None:
    room = world.public.id
    people = await _people(db, 40)
    arrivals, commits = Arrivals(db), _count_commits(db)
    # Each returns only once its stay is committed; the same person twice opens one stay.
    await asyncio.gather(*(arrivals.open(room, p, None) for p in people + people[:3]))
    assert await _open_stays(db, room) == sorted(people)
    assert len(commits) == 1


async def test_a_departure_waits_for_the_stay_being_opened(db: Factory, world: World) -> None:
    room = world.public.id
    (person,) = await _people(db, 1)
    arrivals = Arrivals(db)
    arriving = arrivals.open(room, person, None)  # asked; its batch not yet written
    await arrivals.written(room, person)
    assert arriving.done()  # type: ignore[attr-defined]
    assert await _open_stays(db, room) == [person]


async def test_one_failing_stay_fails_alone(db: Factory, world: World) -> None:
    """A stay in a room that no longer exists fails its own arrival, not its batch's."""
    room = world.public.id
    people = await _people(db, 3)
    arrivals = Arrivals(db)
    outcomes = await asyncio.gather(
        arrivals.open(room, people[0], None),
        arrivals.open(987654, people[1], None),  # no such session: the foreign key refuses
        arrivals.open(room, people[2], None),
        return_exceptions=True,
    )
    assert outcomes[0] is None and outcomes[2] is None
    assert isinstance(outcomes[1], Exception)
    assert await _open_stays(db, room) == sorted([people[0], people[2]])
    async with db() as s:
        assert await s.scalar(select(func.count()).select_from(AttendanceInterval)) == 2
