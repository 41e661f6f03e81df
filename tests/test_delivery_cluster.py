"""The delivery contract across two processes meeting in Redis and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from redis.asyncio import Redis
from sqlalchemy import select

from sidestage.platform.db import create_engine, session_factory, transaction
from sidestage.realtime.room_feed import channel
from sidestage.rooms.feed.models import RoomEvent, RoomSequence
from tests.conftest import REDIS_URL
from tests.live import Client
from tests.test_delivery import (
    Entrant,
    assert_everyone_got_everything,
    chat_events,
    chat_while_entering,
)

# The two-process cluster of the scale tests, on PostgreSQL and the shared test Redis.
from tests.test_rooms_scale import Cluster, backend, cluster  # noqa: F401

pytestmark = pytest.mark.processes


async def test_two_processes_deliver_every_message_once_to_people_entering(
    cluster: Cluster, database_url: str
) -> None:
    """Half the entrants on the process the messages are sent to, half on the other."""
    room = cluster.room
    speakers = [
        await cluster.join(server, await cluster.organizer_token())
        for server in (cluster.a, cluster.b)
    ]
    entrants = []
    for n in range(60):
        server = cluster.a if n % 2 else cluster.b
        client = await Client(server.url, await cluster.token(f"P{n}")).connect()
        cluster.clients.append(client)
        entrants.append(Entrant(client))
    sent = await chat_while_entering(speakers, entrants, room)
    feed = await chat_events(database_url, room)
    assert sorted(message for _, message in feed) == sent
    await assert_everyone_got_everything(entrants, feed)


async def test_a_room_event_lost_between_processes_is_read_back(
    cluster: Cluster, database_url: str
) -> None:
    """A room event committed but never published (its process died between the two, or
    Redis dropped it) still reaches the other process's members, in order."""
    room = cluster.room
    on_b = Entrant(await Client(cluster.b.url, await cluster.token("On B")).connect())
    cluster.clients.append(on_b.client)
    await on_b.enter(room)
    engine = create_engine(database_url)
    async with transaction(session_factory(engine)) as db:  # a committed, unpublished event
        number = int(on_b.seq) + 1
        await db.merge(RoomSequence(session_id=room, seq=number))
        db.add(
            RoomEvent(
                session_id=room,
                seq=number,
                name="chat.slow_mode_changed",
                data={"session_id": room, "seconds": 7, "seq": number},
            )
        )
    await engine.dispose()
    changed = await on_b.client.wait_for("chat.slow_mode_changed")
    assert changed == {"session_id": room, "seconds": 7, "seq": number}
    moderator = await cluster.join(cluster.a, await cluster.organizer_token())
    sent = await moderator.ok("chat.send", {"session_id": room, "text": "after the lost one"})
    after = await on_b.client.wait_for("chat.posted", lambda m: m["id"] == sent["id"])
    assert after["seq"] == number + 1
    assert on_b.numbers() == [number, number + 1]


async def test_presence_lost_by_redis_is_rebuilt_by_the_processes(cluster: Cluster) -> None:
    """Redis forgetting everything (as a restart without persistence does): each process
    puts back its own people, and the counts agree again within a couple of seconds."""
    moderator = await cluster.join(cluster.a, await cluster.organizer_token())
    for n, server in enumerate((cluster.a, cluster.b, cluster.b)):
        await cluster.join(server, await cluster.token(f"Here {n}"))
    await moderator.wait_for("room.count_changed", lambda c: c["count"] == 4)
    redis = Redis.from_url(REDIS_URL)
    await redis.flushdb()
    await redis.aclose()
    forgotten = time.monotonic()
    checker = await Client(cluster.a.url, await cluster.token("Checker")).connect()
    cluster.clients.append(checker)
    entered = await checker.ok("room.enter", {"session_id": cluster.room})
    if entered["count"] != 5:  # the checker itself, and the four put back
        await checker.wait_for("room.count_changed", lambda c: c["count"] == 5)
    assert time.monotonic() - forgotten < 3.0


async def test_a_number_the_room_never_gave_is_not_waited_for(cluster: Cluster) -> None:
    """A message on a room's channel numbered beyond anything the room committed (another
    deployment's, or forged) is dropped: later real events still arrive, in order."""
    room = cluster.room
    listener = Entrant(await Client(cluster.b.url, await cluster.token("Listener")).connect())
    cluster.clients.append(listener.client)
    await listener.enter(room)
    redis = Redis.from_url(REDIS_URL)
    forged = {"seq": 1_000_000, "name": "chat.posted", "data": {"session_id": room, "id": 0}}
    await redis.publish(channel(redis, room), json.dumps(forged | {"at": None}))
    await redis.aclose()
    moderator = await cluster.join(cluster.a, await cluster.organizer_token())
    sent = [
        await moderator.ok("chat.send", {"session_id": room, "text": f"real {n}"}) for n in range(3)
    ]
    for message in sent:
        await listener.client.wait_for("chat.posted", lambda m, i=message["id"]: m["id"] == i)
    assert [m["id"] for m in listener.client.received["chat.posted"]] == [m["id"] for m in sent]
    assert listener.numbers() == list(range(listener.seq + 1, listener.seq + 4))


async def test_captions_reach_people_entering_on_both_processes_once(
    cluster: Cluster, database_url: str
) -> None:
    """Captioners on each process send lines while 60 people enter, half on each: each
    entrant's lines are those in its entry then every later one once, in order, with no
    gap in the room's numbers (snapshots brought forward by caption lines included)."""
    room = cluster.room
    captioners = [
        await cluster.join(server, await cluster.organizer_token())
        for server in (cluster.a, cluster.b)
    ]
    language = (await captioners[0].ok("room.enter", {"session_id": room}))["languages"][
        "captions"
    ][0]
    entrants = []
    for n in range(60):
        server = cluster.a if n % 2 else cluster.b
        client = await Client(server.url, await cluster.token(f"C{n}")).connect()
        cluster.clients.append(client)
        entrants.append(Entrant(client))

    async def caption(captioner: Client) -> list[int]:
        line = {"session_id": room, "language": language}
        return [
            int((await captioner.ok("caption.send", {**line, "text": f"line {n}"}))["id"])
            for n in range(20)
        ]

    captioning = asyncio.gather(*(caption(c) for c in captioners))
    await asyncio.gather(*(entrant.enter(room) for entrant in entrants))
    sent = sorted(line for lines in await captioning for line in lines)

    engine = create_engine(database_url)
    async with session_factory(engine)() as db:
        rows = await db.scalars(
            select(RoomEvent)
            .where(RoomEvent.session_id == room, RoomEvent.name == "caption.added")
            .order_by(RoomEvent.seq)
        )
        feed = [(row.seq, int(row.data["id"])) for row in rows]
    await engine.dispose()
    assert sorted(line for _, line in feed) == sent
    last = feed[-1][0]
    for entrant in entrants:
        await entrant.client.wait_for("caption.added", lambda c, last=last: c["seq"] >= last)
    for entrant in entrants:
        events = [c["id"] for c in entrant.client.received["caption.added"]]
        assert events == [line for seq, line in feed if seq > entrant.seq]
        in_entry = [c["id"] for c in entrant.entered["captions"].get(language, [])]
        assert not set(in_entry) & set(events), "a line both in the entry and as an event"
        assert in_entry == [line for seq, line in feed if seq <= entrant.seq][-len(in_entry) :]
        assert entrant.numbers() == list(range(entrant.seq + 1, last + 1))
