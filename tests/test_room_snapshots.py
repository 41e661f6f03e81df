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


def _message(room: int, seq: int, text: str) -> Numbered:
    data: dict[str, Any] = {"id": 10_000 + seq, "session_id": room, "text": text, "seq": seq}
    return Numbered(room, seq, "chat.posted", data)


async def _get(db: Factory, snapshots: RoomSnapshots, room: int) -> RoomSnapshot:
    async with db() as s:
        return await snapshots.get(s, room, await Epochs(track(db, KEPT)).of_room(room))


async def test_new_messages_bring_the_snapshot_forward_without_reading(
    db: Factory, world: World
) -> None:
    room, delivered = world.public.id, Delivered()
    snapshots = RoomSnapshots(delivered.after)
    read = await _get(db, snapshots, room)
    assert await _get(db, snapshots, room) is read  # nothing new: the same copy
    delivered.events = [_message(room, read.seq + 1, "one"), _message(room, read.seq + 2, "two")]
    forward = await _get(db, snapshots, room)
    assert forward.seq == read.seq + 2
    assert [m["text"] for m in forward.chat[-2:]] == ["one", "two"]
    assert "seq" not in forward.chat[-1]  # as a message is in a snapshot read from rows
    assert forward.chat[:-2] == read.chat[-len(forward.chat) + 2 :] or not read.chat
    assert await _get(db, snapshots, room) is forward  # kept in place of the one read


async def test_a_snapshot_keeps_only_the_recent_page(db: Factory, world: World) -> None:
    from sidestage.rooms.chat.service import PAGE

    room, delivered = world.public.id, Delivered()
    snapshots = RoomSnapshots(delivered.after)
    read = await _get(db, snapshots, room)
    delivered.events = [_message(room, read.seq + i, f"m{i}") for i in range(1, PAGE + 6)]
    forward = await _get(db, snapshots, room)
    assert len(forward.chat) == PAGE
    assert forward.chat[-1]["text"] == f"m{PAGE + 5}" and forward.chat[0]["text"] == "m6"


async def test_another_event_between_or_events_no_longer_kept_read_it_again(
    db: Factory, world: World
) -> None:
    room, delivered = world.public.id, Delivered()
    snapshots = RoomSnapshots(delivered.after)
    read = await _get(db, snapshots, room)
    opened = Numbered(room, read.seq + 2, "poll.opened", {"id": 1, "seq": read.seq + 2})
    delivered.events = [_message(room, read.seq + 1, "one"), opened]
    again = await _get(db, snapshots, room)
    assert again is not read and again.seq == read.seq  # from the rows: the database's number
    assert all(m["text"] != "one" for m in again.chat)  # never half brought forward
    delivered.events, delivered.kept = [], False
    assert await _get(db, snapshots, room) is again  # nothing after it
    delivered.events = [_message(room, again.seq + 1, "lost")]  # after it, not kept
    assert await _get(db, snapshots, room) is not again
