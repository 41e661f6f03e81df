"""Stays opened, and closed, together in one transaction, each committed before its
arrival or departure returns, in the order they were asked for."""

from __future__ import annotations

import asyncio

from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sidestage.platform.accounts.models import Account
from sidestage.rooms.attendance.models import AttendanceInterval
from sidestage.rooms.attendance.stays import Stays
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
    stays, commits = Stays(db), _count_commits(db)
    # Each returns only once its stay is committed; the same person twice opens one stay.
    await asyncio.gather(*(stays.open(room, p, None) for p in people + people[:3]))
    assert await _open_stays(db, room) == sorted(people)
    assert len(commits) == 1


async def test_a_departure_waits_for_the_stay_being_opened(db: Factory, world: World) -> None:
    room = world.public.id
    (person,) = await _people(db, 1)
    stays = Stays(db)
    arriving = stays.open(room, person, None)  # asked; its batch not yet written
    await stays.written(room, person)
    assert arriving.done()  # type: ignore[attr-defined]
    assert await _open_stays(db, room) == [person]


async def test_one_failing_stay_fails_alone(db: Factory, world: World) -> None:
    """A stay in a room that no longer exists fails its own arrival, not its batch's."""
    room = world.public.id
    people = await _people(db, 3)
    stays = Stays(db)
    outcomes = await asyncio.gather(
        stays.open(room, people[0], None),
        stays.open(987654, people[1], None),  # no such session: the foreign key refuses
        stays.open(room, people[2], None),
        return_exceptions=True,
    )
    assert outcomes[0] is None and outcomes[2] is None
    assert isinstance(outcomes[1], Exception)
    assert await _open_stays(db, room) == sorted([people[0], people[2]])
    async with db() as s:
        assert await s.scalar(select(func.count()).select_from(AttendanceInterval)) == 2


async def test_departures_at_once_share_one_transaction(db: Factory, world: World) -> None:
    """The end of a session, or a network drop: everyone leaves in the same instant."""
    room = world.public.id
    people = await _people(db, 40)
    stays = Stays(db)
    await asyncio.gather(*(stays.open(room, p, None) for p in people))
    commits = _count_commits(db)
    await asyncio.gather(*(stays.close(room, p) for p in people))
    assert await _open_stays(db, room) == []
    assert len(commits) == 1
    async with db() as s:
        ended = list(await s.scalars(select(AttendanceInterval.ended_at)))
        assert len(ended) == len(people) and all(at is not None for at in ended)


async def test_leaving_and_coming_back_at_once_is_written_in_order(
    db: Factory, world: World
) -> None:
    """A reconnect: the old stay closes and a new one opens, in one batch, as asked."""
    room = world.public.id
    (person,) = await _people(db, 1)
    stays = Stays(db)
    await stays.open(room, person, None)
    await asyncio.gather(stays.close(room, person), stays.open(room, person, None))
    async with db() as s:
        found = (
            await s.execute(
                select(AttendanceInterval.started_at, AttendanceInterval.ended_at)
                .where(AttendanceInterval.account_id == person)
                .order_by(AttendanceInterval.id)
            )
        ).all()
    assert [ended is None for _, ended in found] == [False, True]
    assert await _open_stays(db, room) == [person]


async def test_a_departure_closes_the_stay_still_being_opened(db: Factory, world: World) -> None:
    room = world.public.id
    (person,) = await _people(db, 1)
    stays = Stays(db)
    opening = stays.open(room, person, None)  # asked; its batch not yet written
    await stays.close(room, person)
    assert opening.done()  # type: ignore[attr-defined]
    assert await _open_stays(db, room) == []
