"""Two server processes sharing one PostgreSQL and one Redis behave as one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select

from sidestage.platform.access.models import Role, RoleGrant
from sidestage.platform.accounts.models import Account
from sidestage.platform.db import create_engine, session_factory, transaction
from sidestage.rooms.attendance.models import AttendanceInterval
from sidestage.rooms.polls.models import PollBallot
from tests.conftest import REDIS_URL
from tests.helpers import PASSWORD
from tests.live import Client, ServerProcess, fresh_demo

pytestmark = pytest.mark.processes


@pytest.fixture
def backend() -> str:
    return "postgresql"  # two processes share a real database server


class Cluster:
    def __init__(self, database_url: str, a: ServerProcess, b: ServerProcess) -> None:
        self.database_url, self.a, self.b = database_url, a, b
        self.clients: list[Client] = []
        self.room = 0

    async def token(self, name: str) -> str:
        url = f"{self.a.url}/api/auth/guest"
        async with aiohttp.ClientSession() as http, http.post(url, json={"name": name}) as answer:
            return str((await answer.json())["token"])

    async def organizer_token(self) -> str:
        token = await self.token("Organizer")
        engine = create_engine(self.database_url)
        async with transaction(session_factory(engine)) as db:
            account = await db.scalar(select(Account).order_by(Account.id.desc()).limit(1))
            db.add(RoleGrant(account_id=account.id, role=Role.ORGANIZER))  # type: ignore[union-attr]
        await engine.dispose()
        return token

    async def join(self, server: ServerProcess, token: str) -> Client:
        client = await Client(server.url, token).connect()
        self.clients.append(client)
        await client.ok("room.enter", {"session_id": self.room})
        return client

    async def count(self, model: type) -> int:
        engine = create_engine(self.database_url)
        async with session_factory(engine)() as db:
            found = int(await db.scalar(select(func.count()).select_from(model)) or 0)
        await engine.dispose()
        return found


@pytest.fixture
async def cluster(database_url: str, tmp_path: Path) -> AsyncIterator[Cluster]:
    room = await fresh_demo(database_url, REDIS_URL)  # and an empty Redis database
    a = ServerProcess(database_url, REDIS_URL, str(tmp_path / "a"))
    b = ServerProcess(database_url, REDIS_URL, str(tmp_path / "b"))
    try:
        await asyncio.to_thread(a.wait_ready)
        await asyncio.to_thread(b.wait_ready)
        built = Cluster(database_url, a, b)
        built.room = room
        yield built
        for client in built.clients:
            await client.close()
    finally:
        a.stop()
        b.stop()


async def test_chat_crosses_processes_and_counts_agree(cluster: Cluster) -> None:
    on_a = await cluster.join(cluster.a, await cluster.token("On A"))
    on_b = await cluster.join(cluster.b, await cluster.token("On B"))
    sent = await on_a.ok("chat.send", {"session_id": cluster.room, "text": "across"})
    arrived = await on_b.wait_for("chat.posted", lambda m: m["id"] == sent["id"])
    assert arrived["text"] == "across"
    for client in (on_a, on_b):
        await client.wait_for("room.count_changed", lambda c: c["count"] == 2)


async def test_one_person_two_tabs_two_processes(cluster: Cluster) -> None:
    moderator = await cluster.join(cluster.a, await cluster.organizer_token())
    token = await cluster.token("Two tabs")
    tabs = [await cluster.join(server, token) for server in (cluster.a, cluster.b)]
    await moderator.wait_for("room.count_changed", lambda c: c["count"] == 2)  # not 3
    made = await moderator.ok(
        "poll.create", {"session_id": cluster.room, "question": "?", "options": ["a", "b"]}
    )
    await moderator.ok("poll.open", {"poll_id": made["poll_id"]})
    await asyncio.gather(
        *(
            tab.ok("poll.vote", {"poll_id": made["poll_id"], "choices": [n]})
            for n, tab in enumerate(tabs)
        )
    )
    result = await moderator.wait_for("poll.results_changed", lambda r: r["voters"] == 1)
    assert sum(result["counts"]) == 1
    assert await cluster.count(PollBallot) == 1
    assert await cluster.count(AttendanceInterval) == 2  # the moderator's stay and theirs


async def test_two_hundred_voters_across_two_processes(cluster: Cluster) -> None:
    moderator = await cluster.join(cluster.a, await cluster.organizer_token())
    tokens = await asyncio.gather(*(cluster.token(f"Voter {n}") for n in range(200)))
    voters = await asyncio.gather(
        *(cluster.join(cluster.a if n % 2 else cluster.b, token) for n, token in enumerate(tokens))
    )
    made = await moderator.ok(
        "poll.create",
        {"session_id": cluster.room, "question": "Where?", "options": ["North", "South", "East"]},
    )
    await moderator.ok("poll.open", {"poll_id": made["poll_id"]})
    answers = await asyncio.gather(
        *(
            voter.call("poll.vote", {"poll_id": made["poll_id"], "choices": [n % 3]})
            for n, voter in enumerate(voters)
        )
    )
    refused = [a for a in answers if not a["ok"]]
    assert not refused, (refused[:3], cluster.a.log_errors(), cluster.b.log_errors())
    expected = [len(range(0, 200, 3)), len(range(1, 200, 3)), len(range(2, 200, 3))]
    final = await moderator.wait_for("poll.results_changed", lambda r: r["voters"] == 200)
    assert final["counts"] == expected
    on_b = voters[0]  # joined through process B
    seen = await on_b.wait_for("poll.results_changed", lambda r: r["voters"] == 200)
    assert seen["counts"] == expected
    assert await cluster.count(PollBallot) == 200
    await moderator.wait_for("room.count_changed", lambda c: c["count"] == 201, within=20)


async def test_a_crashed_process_is_swept(cluster: Cluster) -> None:
    watcher = await cluster.join(cluster.a, await cluster.token("Stays"))
    await cluster.join(cluster.b, await cluster.token("Loses its server"))
    await watcher.wait_for("room.count_changed", lambda c: c["count"] == 2)
    cluster.b.crash()
    cluster.clients = [watcher]
    # B's heartbeat lapses (15 s); A's sweeper takes its connections out and ends their stays.
    await watcher.wait_for("room.count_changed", lambda c: c["count"] == 1, within=40)
    engine = create_engine(cluster.database_url)
    async with session_factory(engine)() as db:
        still_open = await db.scalar(
            select(func.count())
            .select_from(AttendanceInterval)
            .where(AttendanceInterval.ended_at.is_(None))
        )
    await engine.dispose()
    assert still_open == 1  # only the watcher's


@pytest.mark.fast_path("realtime.broadcasts")
async def test_a_process_listens_only_to_rooms_it_has_members_in(cluster: Cluster) -> None:
    """Room broadcasts go on the room's own Redis channel; a process subscribes to it only
    while one of its connections is in the room, so it never decodes other rooms."""
    channel = f"sidestage:s:{cluster.room}"
    redis = Redis.from_url(REDIS_URL)
    try:

        async def listening() -> int:
            counts = dict(await redis.pubsub_numsub(channel))
            return int(counts[channel.encode()])

        on_a = await cluster.join(cluster.a, await cluster.token("On A"))
        assert await listening() == 1  # process A only: B has nobody in this room
        on_b = await cluster.join(cluster.b, await cluster.token("On B"))
        assert await listening() == 2
        sent = await on_b.ok("chat.send", {"session_id": cluster.room, "text": "room channel"})
        arrived = await on_a.wait_for("chat.posted", lambda m: m["id"] == sent["id"])
        assert arrived["text"] == "room channel"
    finally:
        await redis.aclose()


async def test_a_change_through_one_process_counts_at_once_on_the_other(cluster: Cluster) -> None:
    """Each process keeps copies of grants and room settings between commands; a commit on
    A that changes them must count for B's very next command."""
    organizer = await cluster.organizer_token()
    moderator = await cluster.join(cluster.a, organizer)
    email = "across@example.org"
    async with aiohttp.ClientSession() as http:
        registered = await http.post(
            f"{cluster.a.url}/api/auth/register",
            json={"email": email, "password": PASSWORD, "name": "Across"},
        )
        member = await cluster.join(cluster.b, str((await registered.json())["token"]))
        slow = {"session_id": cluster.room, "seconds": 5}
        refused = await member.call("chat.slow_mode", slow)
        assert refused["error"]["code"] == "chat.forbidden"
        granted = await http.post(
            f"{cluster.a.url}/api/roles",
            json={"email": email, "role": "moderator", "session_id": cluster.room},
            headers={"Authorization": f"Bearer {organizer}"},
        )
        assert granted.status == 201
    await member.ok("chat.slow_mode", slow)
    await member.ok("chat.slow_mode", {**slow, "seconds": 0})

    guest = await cluster.join(cluster.b, await cluster.token("Muted on B"))
    await guest.ok("chat.send", {"session_id": cluster.room, "text": "before"})
    entered = await guest.ok("room.enter", {"session_id": cluster.room})
    account_id = entered["chat"][-1]["author"]["id"]
    await moderator.ok("chat.mute", {"session_id": cluster.room, "account_id": account_id})
    muted = await guest.call("chat.send", {"session_id": cluster.room, "text": "after"})
    assert muted["error"]["code"] == "chat.muted"


async def test_a_room_s_snapshot_gives_way_to_a_message_sent_through_the_other_process(
    cluster: Cluster,
) -> None:
    """A keeps a snapshot of what entrants are sent; a message sent through B replaces it
    for A's next entrant."""
    room = {"session_id": cluster.room}
    first_on_a = await cluster.join(cluster.a, await cluster.token("First on A"))
    on_b = await cluster.join(cluster.b, await cluster.token("On B"))
    await on_b.ok("chat.send", {**room, "text": "from B"})
    await first_on_a.wait_for("chat.posted", lambda m: m["text"] == "from B")
    later_on_a = await Client(cluster.a.url, await cluster.token("Later on A")).connect()
    cluster.clients.append(later_on_a)
    entered = await later_on_a.ok("room.enter", room)
    assert [m["text"] for m in entered["chat"]] == ["from B"]
