"""A room's snapshot goes forward with the chat its process delivered, and is read again
when anything else came between (``rooms/room/snapshot.py``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sidestage.platform.epochs import Epochs, track
from sidestage.realtime.server import KEPT
from sidestage.rooms.feed.service import Numbered
from sidestage.rooms.room.snapshot import RoomSnapshot, RoomSnapshots
from tests.rooms_world import World

Factory = async_sessionmaker[AsyncSession]


class Delivered:
    """What the process delivered to the room, as the transport would answer."""

    def __init__(self) -> None:
        self.events: list[Numbered] = []
        self.kept = True

    def after(self, session_id: int, seq: int) -> list[Numbered] | None:
        later = [e for e in self.events if e.session_id == session_id and e.seq > seq]
        return later if self.kept or not later else None


class Room:
    """One room's snapshots as its process keeps them, and what the process delivered."""

    def __init__(self, db: Factory, session_id: int) -> None:
        self.db, self.id, self.delivered = db, session_id, Delivered()
        self.snapshots = RoomSnapshots(self.delivered.after)
        self.epochs = Epochs(track(db, KEPT))

    async def snapshot(self) -> RoomSnapshot:
        async with self.db() as s:
            return await self.snapshots.get(s, self.id, await self.epochs.of_room(self.id))

    def message(self, seq: int, text: str) -> Numbered:
        data: dict[str, Any] = {"id": 10_000 + seq, "session_id": self.id, "text": text}
        return Numbered(self.id, seq, "chat.posted", data | {"seq": seq})


async def test_new_messages_bring_the_snapshot_forward_without_reading(
    db: Factory, world: World
) -> None:
    room = Room(db, world.public.id)
    speaker = await world.guest("Speaker")
    await speaker.ok("room.enter", {"session_id": room.id})
    await speaker.ok("chat.send", {"session_id": room.id, "text": "earlier"})
    read = await room.snapshot()
    assert [m["text"] for m in read.chat] == ["earlier"]  # read from the rows
    assert await room.snapshot() is read  # nothing new: the same copy
    room.delivered.events = [room.message(read.seq + 1, "one"), room.message(read.seq + 2, "two")]
    forward = await room.snapshot()
    assert forward.seq == read.seq + 2
    assert [m["text"] for m in forward.chat] == ["earlier", "one", "two"]
    assert forward.chat[0] == read.chat[0]
    assert "seq" not in forward.chat[-1]  # as a message is in a snapshot read from rows
    assert await room.snapshot() is forward  # kept in place of the one read


async def test_a_snapshot_keeps_only_the_recent_page(db: Factory, world: World) -> None:
    from sidestage.rooms.chat.service import PAGE

    room = Room(db, world.public.id)
    read = await room.snapshot()
    room.delivered.events = [room.message(read.seq + i, f"m{i}") for i in range(1, PAGE + 6)]
    forward = await room.snapshot()
    assert len(forward.chat) == PAGE
    assert forward.chat[-1]["text"] == f"m{PAGE + 5}" and forward.chat[0]["text"] == "m6"


async def test_another_event_between_or_events_no_longer_kept_read_it_again(
    db: Factory, world: World
) -> None:
    room = Room(db, world.public.id)
    read = await room.snapshot()
    opened = Numbered(room.id, read.seq + 2, "poll.opened", {"id": 1, "seq": read.seq + 2})
    room.delivered.events = [room.message(read.seq + 1, "one"), opened]
    again = await room.snapshot()
    assert again is not read and again.seq == read.seq  # from the rows: the database's number
    assert all(m["text"] != "one" for m in again.chat)  # never half brought forward
    room.delivered.events, room.delivered.kept = [], False
    assert await room.snapshot() is again  # nothing after it
    room.delivered.events = [room.message(again.seq + 1, "lost")]  # after it, not kept
    assert await room.snapshot() is not again
