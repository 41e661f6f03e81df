"""Media workers' load budget: rooms go to the worker with room to spare, viewers past the
budget are refused (or, spread, seated on another worker), and with Redis two processes
never both take the last seat."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from sidestage.realtime.media_budget import (
    COST,
    WORKER_TTL,
    Admission,
    MediaBudget,
    MemoryMediaBudget,
    RedisMediaBudget,
    Seat,
)
from tests.conftest import REDIS_URL


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    connection = Redis.from_url(REDIS_URL)
    yield connection
    await connection.aclose()


async def _budget(kind: str, redis: Redis, spread: bool) -> AsyncIterator[MediaBudget]:
    if kind == "memory":
        yield MemoryMediaBudget(spread=spread)
        return
    prefix = f"test-media-{uuid.uuid4().hex}:"  # each test its own keys in the shared Redis
    yield RedisMediaBudget(redis, prefix, spread=spread)
    async for key in redis.scan_iter(f"{prefix}*"):
        await redis.delete(key)


@pytest.fixture(params=["memory", "redis"])
async def budget(request: pytest.FixtureRequest, redis: Redis) -> AsyncIterator[MediaBudget]:
    async for made in _budget(request.param, redis, spread=False):
        yield made


@pytest.fixture(params=["memory", "redis"])
async def spread(request: pytest.FixtureRequest, redis: Redis) -> AsyncIterator[MediaBudget]:
    async for made in _budget(request.param, redis, spread=True):
        yield made


async def test_no_worker_means_no_stage(budget: MediaBudget) -> None:
    assert await budget.assign(1) is None
    assert await budget.admit(1, "amina", Seat.VIDEO) == Admission.NO_WORKER


async def test_rooms_go_to_the_worker_with_most_room_and_stay_there(budget: MediaBudget) -> None:
    await budget.heartbeat("w1", 100)
    await budget.heartbeat("w2", 100)
    assert await budget.assign(1) == "w1"  # a tie: the first name
    assert await budget.admit(1, "amina", Seat.VIDEO) == Admission.ADMITTED
    assert await budget.assign(2) == "w2"  # w1 has fewer units free now
    assert await budget.assign(1) == "w1"  # a room's stage stays where it is


async def test_viewers_past_the_budget_are_refused_and_seats_come_back(
    budget: MediaBudget,
) -> None:
    await budget.heartbeat("w1", 2 * COST[Seat.VIDEO] + 5 * COST[Seat.AUDIO])
    admitted = [await budget.admit(7, f"v{n}", Seat.VIDEO) for n in range(3)]
    assert admitted == [Admission.ADMITTED, Admission.ADMITTED, Admission.FULL]
    # The room still has room for audio-only viewers: the fallback the stage offers.
    audio = [await budget.admit(7, f"a{n}", Seat.AUDIO) for n in range(6)]
    assert audio.count(Admission.ADMITTED) == 5 and audio[-1] == Admission.FULL
    assert await budget.admit(7, "v0", Seat.VIDEO) == Admission.ADMITTED  # a retry: no new seat
    assert await budget.used("w1") == 25
    await budget.release(7, "v0")
    await budget.release(7, "v0")  # released once only
    assert await budget.used("w1") == 15
    assert await budget.admit(7, "v2", Seat.VIDEO) == Admission.ADMITTED


async def test_spread_viewers_a_full_room_worker_cannot_take_go_to_the_freest_other(
    spread: MediaBudget,
) -> None:
    await spread.heartbeat("w1", COST[Seat.VIDEO], relay="127.0.0.1:7001")
    await spread.heartbeat("w2", 2 * COST[Seat.VIDEO], relay="127.0.0.1:7002")
    await spread.heartbeat("w3", 3 * COST[Seat.VIDEO], relay="127.0.0.1:7003")
    assert await spread.assign(5) == "w3"  # the room's worker: the most units free
    seated = []
    for n in range(6):
        assert await spread.admit(5, f"v{n}", Seat.VIDEO) == Admission.ADMITTED
        seated.append(await spread.seated_on(5, f"v{n}"))
    # The room's worker while it has room, then the one with the most units left (on a
    # tie, the first name).
    assert seated == ["w3", "w3", "w3", "w2", "w1", "w2"]
    assert await spread.admit(5, "late", Seat.VIDEO) == Admission.FULL  # every worker is
    assert await spread.seated_on(5, "late") is None
    assert await spread.assign(5) == "w3"  # the room stays where its speakers are
    assert await spread.relay_address("w2") == "127.0.0.1:7002"
    await spread.release(5, "v3")
    assert await spread.seated_on(5, "v3") is None
    assert await spread.admit(5, "audio", Seat.AUDIO) == Admission.ADMITTED
    assert await spread.seated_on(5, "audio") == "w2"  # the seat just given back


async def test_unspread_a_full_room_worker_refuses_though_others_have_room(
    budget: MediaBudget,
) -> None:
    await budget.heartbeat("w1", COST[Seat.VIDEO])
    await budget.heartbeat("w2", 0)
    assert await budget.assign(5) == "w1"
    await budget.heartbeat("w2", 5 * COST[Seat.VIDEO])
    assert await budget.admit(5, "v0", Seat.VIDEO) == Admission.ADMITTED
    assert await budget.admit(5, "v1", Seat.VIDEO) == Admission.FULL
    assert await budget.seated_on(5, "v0") == "w1"


async def test_a_silent_worker_drops_out_and_its_rooms_move() -> None:
    clock = Clock()
    budget = MemoryMediaBudget(clock=clock)
    await budget.heartbeat("w1", 100)
    await budget.heartbeat("w2", 50)
    assert await budget.assign(1) == "w1"
    assert await budget.admit(1, "amina", Seat.VIDEO) == Admission.ADMITTED
    clock.now += WORKER_TTL - 1
    await budget.heartbeat("w2", 50)  # w1 has stopped renewing
    clock.now += 2
    assert await budget.assign(1) == "w2"
    await budget.release(1, "amina")  # the dead worker's seat does not touch w2's count
    assert await budget.used("w2") == 0


async def test_with_redis_a_dead_worker_expires_and_its_rooms_move(redis: Redis) -> None:
    prefix = f"test-media-{uuid.uuid4().hex}:"
    budget = RedisMediaBudget(redis, prefix)
    try:
        await budget.heartbeat("w1", 100)
        await budget.heartbeat("w2", 50)
        assert await budget.assign(1) == "w1"
        assert 0 < await redis.ttl(f"{prefix}worker:w1") <= WORKER_TTL
        assert await budget.admit(1, "amina", Seat.VIDEO) == Admission.ADMITTED
        await redis.delete(f"{prefix}worker:w1")  # what its TTL does when heartbeats stop
        assert await budget.assign(1) == "w2"
        assert await budget.admit(1, "omar", Seat.VIDEO) == Admission.ADMITTED
        await budget.release(1, "amina")  # held on w1: w2's count is left alone
        assert await budget.used("w2") == COST[Seat.VIDEO]
    finally:
        async for key in redis.scan_iter(f"{prefix}*"):
            await redis.delete(key)


async def test_two_processes_never_both_take_the_last_seat(redis: Redis) -> None:
    prefix = f"test-media-{uuid.uuid4().hex}:"
    other = Redis.from_url(REDIS_URL)  # a second process's own connection
    here, there = RedisMediaBudget(redis, prefix), RedisMediaBudget(other, prefix)
    try:
        await here.heartbeat("w1", 3 * COST[Seat.VIDEO])
        answers = await asyncio.gather(
            *((here if n % 2 else there).admit(9, f"viewer{n}", Seat.VIDEO) for n in range(100))
        )
        assert answers.count(Admission.ADMITTED) == 3
        assert await here.used("w1") == 3 * COST[Seat.VIDEO]
    finally:
        async for key in redis.scan_iter(f"{prefix}*"):
            await redis.delete(key)
        await other.aclose()
