"""The fault suite: two processes on a PostgreSQL and a Redis of their own, chat running,
and one thing breaking at a time. Each scenario counts: every acknowledged message is
stored exactly once, and every participant connected at the end applied every message
committed in its room after its entry, exactly once, doing only what docs/protocol.md
tells a client to do. ``pytest -m faults`` runs them alone; ``-s`` prints the counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.fault_kit import (
    PostgresCluster,
    RedisServer,
    SentinelGroup,
    postgres_cluster,
    redis_server,
    sentinel_group,
)
from tests.fault_world import (
    Asked,
    Counts,
    FaultWorld,
    Participant,
    Sent,
    fault_world,
    talk,
    vote_and_ask,
)

pytestmark = pytest.mark.faults
CHAT_RATE = 5.0  # messages a second from each speaker
OUTAGE = 10.0  # seconds a service stays down (the fault's length, not a wait for anything)
PEOPLE = 20


@pytest.fixture
def postgres() -> Iterator[PostgresCluster]:
    with postgres_cluster() as cluster:
        yield cluster


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


@pytest.fixture
async def world(
    postgres: PostgresCluster, redis: RedisServer, tmp_path: Path
) -> AsyncIterator[FaultWorld]:
    async with two_processes(postgres, redis.url, tmp_path) as w:
        yield w


@pytest.fixture
async def sentinels() -> AsyncIterator[SentinelGroup]:
    with sentinel_group() as group:
        yield group


@contextlib.asynccontextmanager
async def two_processes(
    postgres: PostgresCluster, redis_url: str, tmp_path: Path
) -> AsyncIterator[FaultWorld]:
    async with fault_world(postgres.url(driver="postgresql+asyncpg"), redis_url, tmp_path) as w:
        for name in ("a", "b"):
            w.start(name)
        await asyncio.gather(*(asyncio.to_thread(p.wait_ready) for p in w.processes))
        yield w


class Chat:
    """Speakers on both processes chatting until stopped; everyone else listening."""

    def __init__(self, world: FaultWorld) -> None:
        self.world = world
        self.sent = Sent()
        self.stop = asyncio.Event()
        self.speakers: list[Participant] = []
        self.listeners: list[Participant] = []
        self._talking: asyncio.Future[list[None]] | None = None
        self.asked = Asked()
        self._asking: asyncio.Future[list[None]] | None = None

    async def start(self, people: int = PEOPLE) -> None:
        self.speakers = [await self.world.person(f"Speaker {n}", n, True) for n in (0, 1)]
        self.listeners = [await self.world.person(f"P{n}", n % 2) for n in range(people)]
        await asyncio.gather(*(p.join() for p in self.speakers + self.listeners))
        self._talking = asyncio.gather(
            *(talk(s, self.sent, self.stop, CHAT_RATE) for s in self.speakers)
        )
        made = await self.speakers[0].call(
            "poll.create", {"session_id": self.world.room, "question": "?", "options": ["a", "b"]}
        )
        self.asked.poll_id = made["data"]["poll_id"]
        assert (await self.speakers[0].call("poll.open", {"poll_id": self.asked.poll_id}))["ok"]

    def vote_and_ask(self) -> None:
        """Every listener votes and asks a question, now: through the fault to come."""
        self._asking = asyncio.gather(
            *(vote_and_ask(p, self.asked, n) for n, p in enumerate(self.listeners))
        )

    async def acknowledged(self, at_least: int) -> None:
        """Until the speakers were told of ``at_least`` more messages than now."""
        async with asyncio.timeout(60):
            await self.sent.reach(len(self.sent.acknowledged) + at_least)

    async def finish(self) -> Counts:
        self.stop.set()
        assert self._talking is not None
        await self._talking
        if self._asking is not None:
            await self._asking
            await self.world.check_asked(self.asked)
        everyone = self.speakers + self.listeners
        await self.world.caught_up(everyone)
        counts = await self.world.counts(everyone, self.sent)
        counts.votes = sum(self.asked.votes.values())
        counts.questions = len(self.asked.questions)
        return counts


def assert_whole(counts: Counts, scenario: str) -> None:
    print(f"\n{scenario}: {counts}")
    assert counts.stored == counts.acknowledged
    assert counts.missed == 0
    assert counts.doubled == 0


async def test_redis_restarted_without_its_data(world: FaultWorld, redis: RedisServer) -> None:
    """Besides the counts: presence comes back, and a room made invite-only while Redis
    was away is closed on the other process within 2 s of its return."""
    chat = Chat(world)
    await chat.start()
    closing = await world.person("Door tester", 1)
    closing.room = world.other_room
    await closing.join()  # process b now keeps that room's configuration
    await chat.acknowledged(10)
    chat.vote_and_ask()
    redis.kill()
    await make_invite_only(world, chat.speakers[0].token)
    await asyncio.sleep(OUTAGE / 2)  # the outage
    redis.start()
    back = time.monotonic()
    await refused_from(world, closing, back)
    await chat.acknowledged(1)
    print(f"\nredis back: chat resumed after {time.monotonic() - back:.1f} s")
    await chat.acknowledged(10)
    counts = await chat.finish()
    assert_whole(counts, "redis restarted without its data")
    assert all(p.gaps == 0 for p in chat.speakers + chat.listeners)
    took = await world.presence_is(PEOPLE + 2, within=2.0)  # the speakers and listeners
    print(f"presence right {took:.1f} s after asking")


async def make_invite_only(world: FaultWorld, organizer: str) -> None:
    """An organizer's change, committed while Redis is away (the app answers it)."""
    url = f"{world.living()[0]}/api/sessions/{world.other_room}/settings"
    body = {"kind": "side_event", "visibility": "invite_only"}
    headers = {"Authorization": f"Bearer {organizer}"}
    async with aiohttp.ClientSession() as http, http.put(url, json=body, headers=headers) as got:
        assert got.status == 200, await got.text()


async def refused_from(world: FaultWorld, guest: Participant, back: float) -> None:
    """A guest on the other process asks to enter again and again: from 2 s after Redis
    returned, never admitted (while it is away, refused as unavailable)."""
    assert guest.sio is not None
    async with asyncio.timeout(30):
        while True:
            entering = {"session_id": world.other_room}
            answer = dict(await guest.sio.call("room.enter", entering, timeout=15))
            if not answer["ok"] and answer["error"]["code"] == "room.forbidden":
                break
            assert not answer["ok"] or time.monotonic() - back < 2.0, "admitted when closed"
            await asyncio.sleep(0.1)  # asking again, as a person would
    print(f"\ninvite-only on the other process {time.monotonic() - back:.1f} s after Redis")


async def test_a_process_killed(world: FaultWorld) -> None:
    chat = Chat(world)
    await chat.start()
    await chat.acknowledged(10)
    chat.vote_and_ask()
    world.processes[1].crash()  # kill -9: its people reconnect to the other process
    killed = time.monotonic()
    moved = [p for p in chat.speakers + chat.listeners if p.resumes or p.sio is None]
    await chat.acknowledged(10)
    counts = await chat.finish()
    resumed = [r for p in chat.speakers + chat.listeners for r in p.resumes]
    print(f"\nprocess killed: {len(resumed)} resumed entries, {len(moved)} moved early")
    print(f"chat went on {time.monotonic() - killed:.1f} s after the kill")
    assert resumed and all(resumed)
    assert_whole(counts, "a process killed")
    took = await world.presence_is(PEOPLE + 2, within=30.0)  # the dead one's swept after 15 s
    print(f"presence right {took:.1f} s after asking")


@pytest.mark.parametrize("fault", ["stopped", "frozen"])
async def test_postgresql_away(world: FaultWorld, postgres: PostgresCluster, fault: str) -> None:
    """Stopped (connections cut) or frozen (SIGSTOP: nothing answers) for ``OUTAGE``."""
    chat = Chat(world)
    await chat.start()
    await chat.acknowledged(10)
    chat.vote_and_ask()
    away, back = (
        (postgres.stop, postgres.start) if fault == "stopped" else (postgres.freeze, postgres.thaw)
    )
    away()
    try:
        await asyncio.sleep(OUTAGE)  # the outage
    finally:
        back()
    await recovered(chat, time.monotonic())
    await chat.acknowledged(10)
    assert_whole(await chat.finish(), f"postgresql {fault} for 10 s")


async def recovered(chat: Chat, back: float) -> None:
    await chat.acknowledged(1)
    print(f"\nchat resumed {time.monotonic() - back:.1f} s after the service returned")


async def test_a_thousand_join_while_chat_runs(world: FaultWorld) -> None:
    chat = Chat(world)
    await chat.start(people=0)
    await chat.acknowledged(5)
    joiners = [await world.person(f"J{n}", n % 2) for n in range(1000)]
    started = time.monotonic()
    await asyncio.gather(*(j.join() for j in joiners))
    joined = time.monotonic() - started
    await chat.acknowledged(5)
    chat.listeners = joiners
    counts = await chat.finish()
    print(f"\n1,000 joins in {joined:.1f} s")
    assert_whole(counts, "1,000 joins while chat runs")


async def test_a_sentinel_failover(
    postgres: PostgresCluster, sentinels: SentinelGroup, tmp_path: Path
) -> None:
    """The processes reach Redis through two Sentinels; its primary dies, the replica is
    promoted, and they go on with it."""
    async with two_processes(postgres, sentinels.url, tmp_path) as world:
        chat = Chat(world)
        await chat.start()
        await chat.acknowledged(10)
        started = time.monotonic()
        chat.vote_and_ask()
        await asyncio.to_thread(sentinels.fail_over)
        promoted = time.monotonic()
        await recovered(chat, promoted)
        print(f"replica promoted {promoted - started:.1f} s after the primary died")
        await chat.acknowledged(10)
        assert_whole(await chat.finish(), "a Sentinel failover")
        took = await world.presence_is(PEOPLE + 2, within=5.0)
        print(f"presence right {took:.1f} s after asking")
