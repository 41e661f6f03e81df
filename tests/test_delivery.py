"""The delivery contract: from the number ``room.enter`` answers, every later room event
reaches each participant exactly once, in order, however the entry races the chat.

Counted per participant, from what each one received, against what the database holds.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from sidestage.platform.access.models import Role
from sidestage.platform.db import create_engine, session_factory, transaction
from sidestage.rooms.feed.models import RoomEvent
from tests.live import Client
from tests.rooms_world import World

CHATTER = 25  # messages each speaker sends while people come in (the flood limit is 30 in 5 s)


class Entrant:
    """A participant and the number its entry answered."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.entered: dict[str, Any] = {}

    async def enter(self, room: int, **resume: int) -> None:
        self.entered = await self.client.ok("room.enter", {"session_id": room, **resume})

    @property
    def seq(self) -> int:
        return int(self.entered["seq"])

    def chat_ids(self) -> list[int]:
        """Every message this participant was given: in its entry, then as events."""
        listed = [m["id"] for m in self.entered.get("chat", [])]
        return listed + [m["id"] for m in self.client.received["chat.posted"]]

    def numbers(self) -> list[int]:
        return sorted(
            data["seq"]
            for events in self.client.received.values()
            for data in events
            if isinstance(data, dict) and "seq" in data
        )


async def chat_events(database_url: str, room: int) -> list[tuple[int, int]]:
    """(seq, message id) of every chat.posted the room's feed holds."""
    engine = create_engine(database_url)
    async with session_factory(engine)() as db:
        rows = await db.scalars(
            select(RoomEvent)
            .where(RoomEvent.session_id == room, RoomEvent.name == "chat.posted")
            .order_by(RoomEvent.seq)
        )
        found = [(row.seq, int(row.data["id"])) for row in rows]
    await engine.dispose()
    return found


async def chat_while_entering(
    speakers: list[Client], entrants: list[Entrant], room: int
) -> list[int]:
    """The ids of the messages the speakers posted while every entrant entered."""

    async def talk(speaker: Client) -> list[int]:
        sent = []
        for index in range(CHATTER):
            posted = await speaker.ok("chat.send", {"session_id": room, "text": f"m{index}"})
            sent.append(int(posted["id"]))
        return sent

    talking = asyncio.gather(*(talk(speaker) for speaker in speakers))
    await asyncio.gather(*(entrant.enter(room) for entrant in entrants))
    return sorted(message for sent in await talking for message in sent)


async def assert_everyone_got_everything(
    entrants: list[Entrant], feed: list[tuple[int, int]]
) -> None:
    last = feed[-1][0]
    for entrant in entrants:
        await entrant.client.wait_for("chat.posted", lambda m, last=last: m["seq"] >= last)
    for entrant in entrants:
        ids = entrant.chat_ids()
        assert len(ids) == len(set(ids)), "a message arrived twice"
        wanted = [message for seq, message in feed if seq > entrant.seq]
        events = [m["id"] for m in entrant.client.received["chat.posted"]]
        assert events == wanted, f"entered at {entrant.seq}: missing or extra events"
        snapshot = [m["id"] for m in entrant.entered["chat"]]
        assert all(message not in snapshot for message in events)
        numbers = entrant.numbers()
        assert numbers == list(range(entrant.seq + 1, last + 1)), "a gap in the numbers"


async def test_entering_while_chat_runs_misses_nothing_and_gets_nothing_twice(
    world: World, database_url: str
) -> None:
    room = world.public.id
    speakers = [await world.with_role(Role.ORGANIZER) for _ in range(2)]
    for speaker in speakers:
        await speaker.ok("room.enter", {"session_id": room})
    entrants = [Entrant(await world.guest(f"Guest {n}")) for n in range(30)]
    sent = await chat_while_entering(speakers, entrants, room)
    feed = await chat_events(database_url, room)
    assert sorted(message for _, message in feed) == sent
    await assert_everyone_got_everything(entrants, feed)


async def test_a_resumed_entry_gets_exactly_the_events_it_missed(
    world: World, database_url: str
) -> None:
    room = world.public.id
    moderator = await world.with_role(Role.ORGANIZER)
    await moderator.ok("room.enter", {"session_id": room})
    first = await moderator.ok("chat.send", {"session_id": room, "text": "before"})
    leaver = Entrant(await world.guest("Leaver"))
    await leaver.enter(room)
    assert first["id"] in [m["id"] for m in leaver.entered["chat"]]
    seen = leaver.seq
    await leaver.client.close()
    missed = [
        await moderator.ok("chat.send", {"session_id": room, "text": f"x{n}"}) for n in range(3)
    ]
    back = Entrant(await world.connect(leaver.client.token))
    await back.enter(room, since_seq=seen)
    assert back.entered["resumed"] is True and back.seq == seen
    assert "chat" not in back.entered
    for message in missed:
        await back.client.wait_for("chat.posted", lambda m, i=message["id"]: m["id"] == i)
    assert [m["id"] for m in back.client.received["chat.posted"]] == [m["id"] for m in missed]


async def test_a_resume_from_a_number_no_longer_kept_gets_the_whole_room(
    world: World, database_url: str
) -> None:
    room = world.public.id
    moderator = await world.with_role(Role.ORGANIZER)
    await moderator.ok("room.enter", {"session_id": room})
    for n in range(3):
        await moderator.ok("chat.send", {"session_id": room, "text": f"old {n}"})
    engine = create_engine(database_url)
    async with transaction(session_factory(engine)) as db:  # as pruning leaves it
        await db.execute(
            RoomEvent.__table__.delete().where(RoomEvent.session_id == room, RoomEvent.seq <= 2)
        )
    await engine.dispose()
    late = Entrant(await world.guest("Late"))
    await late.enter(room, since_seq=1)
    assert late.entered["resumed"] is False and late.seq == 3
    assert len(late.entered["chat"]) == 3
    beyond = Entrant(await world.guest("From the future"))
    await beyond.enter(room, since_seq=99)  # a number the room never gave
    assert beyond.entered["resumed"] is False and beyond.seq == 3


async def test_entering_again_on_one_connection_starts_its_events_over(world: World) -> None:
    room = world.public.id
    moderator = await world.with_role(Role.ORGANIZER)
    await moderator.ok("room.enter", {"session_id": room})
    guest = Entrant(await world.guest())
    await guest.enter(room)
    sent = await moderator.ok("chat.send", {"session_id": room, "text": "one"})
    await guest.client.wait_for("chat.posted", lambda m: m["id"] == sent["id"])
    await guest.enter(room)  # the same connection, again: the answer holds the message
    assert sent["id"] in [m["id"] for m in guest.entered["chat"]]
    later = await moderator.ok("chat.send", {"session_id": room, "text": "two"})
    await guest.client.wait_for("chat.posted", lambda m: m["id"] == later["id"])
    assert [m["id"] for m in guest.client.received["chat.posted"]] == [sent["id"], later["id"]]
