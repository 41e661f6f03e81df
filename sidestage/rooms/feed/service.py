"""Numbering a room's events in the transaction that caused them, and reading them back.

A room event (``Event.sequenced``) gets the room's next number as it is recorded, in the
same transaction as the change it tells of: committed together or not at all. Numbers
are dense and follow commit order (see ``RoomSequence``), so whoever delivers them can
tell a gap from a delay, and whoever missed some can read them back from here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar, cast

from sqlalchemy import Table, bindparam, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from sidestage.platform.db import ByDialect, utcnow
from sidestage.rooms.events import Event, Outbox
from sidestage.rooms.feed.models import RoomEvent, RoomSequence

T = TypeVar("T")
KEPT_FOR = timedelta(hours=2)  # how long a room's events can be asked for again


@dataclass(frozen=True)
class Numbered:
    """A room event under its number, as it is delivered."""

    session_id: int
    seq: int
    name: str
    data: dict[str, Any]
    committed_at: float | None = None  # seconds since the epoch: how late its delivery is


_SEQUENCES = cast(Table, RoomSequence.__table__)


def _build_advance(insert: Callable[..., Any]) -> Any:
    """Move the room's number on by ``seq`` and answer the new one: the first event of a
    room inserts its row, the others update it (and wait for each other's commits)."""
    statement = insert(_SEQUENCES).values(session_id=bindparam("session_id"), seq=bindparam("seq"))
    return statement.on_conflict_do_update(
        index_elements=["session_id"], set_={"seq": _SEQUENCES.c.seq + statement.excluded.seq}
    ).returning(_SEQUENCES.c.seq)


_ADVANCE = ByDialect(_build_advance)


async def record(db: AsyncSession, outbox: Outbox) -> None:
    """Number the outbox's room events and keep them; call before the commit."""
    if not any(event.sequenced for event in outbox.events):
        return  # most commands: no statement, and no transaction begun for one
    by_room: dict[int, list[Event]] = {}
    for event in outbox.events:
        if event.sequenced:
            by_room.setdefault(int(event.audience.key), []).append(event)
    for session_id, events in sorted(by_room.items()):  # one order: no deadlock between two
        await _record_room(db, session_id, events)


async def _record_room(db: AsyncSession, session_id: int, events: list[Event]) -> None:
    last = await db.scalar(_ADVANCE(db), {"session_id": session_id, "seq": len(events)})
    assert last is not None
    now = utcnow()
    rows = []
    for seq, event in enumerate(events, start=int(last) - len(events) + 1):
        event.data["seq"] = seq
        rows.append(
            {"session_id": session_id, "seq": seq, "name": event.name, "data": event.data}
            | {"recorded_at": now}
        )
    await db.execute(insert(RoomEvent), rows)


async def current(db: AsyncSession, session_id: int) -> int:
    """The number of the room's last committed event (0 before any)."""
    found = await db.scalar(select(RoomSequence.seq).where(RoomSequence.session_id == session_id))
    return int(found or 0)


async def current_of(db: AsyncSession, session_ids: Iterable[int]) -> dict[int, int]:
    wanted = list(session_ids)
    rows = await db.execute(
        select(RoomSequence.session_id, RoomSequence.seq).where(RoomSequence.session_id.in_(wanted))
    )
    found = {int(session_id): int(seq) for session_id, seq in rows}
    return {session_id: found.get(session_id, 0) for session_id in wanted}


async def after(
    db: AsyncSession, session_id: int, seq: int, upto: int | None = None
) -> list[Numbered]:
    """The room's events numbered above ``seq`` (up to ``upto``), in order."""
    query = select(RoomEvent).where(RoomEvent.session_id == session_id, RoomEvent.seq > seq)
    if upto is not None:
        query = query.where(RoomEvent.seq <= upto)
    rows = await db.scalars(query.order_by(RoomEvent.seq))
    return [
        Numbered(row.session_id, row.seq, row.name, dict(row.data), row.recorded_at.timestamp())
        for row in rows
    ]


async def kept_after(db: AsyncSession, session_id: int, seq: int) -> bool:
    """Whether every event numbered above ``seq`` is still kept (none was pruned yet)."""
    oldest = await db.scalar(
        select(func.min(RoomEvent.seq)).where(RoomEvent.session_id == session_id)
    )
    newest = await current(db, session_id)
    if seq > newest:
        return False  # a number this room never gave
    return seq == newest or (oldest is not None and oldest <= seq + 1)


async def between(
    db: AsyncSession, session_id: int, read: Callable[[], Awaitable[T]]
) -> tuple[T, int, list[Numbered]]:
    """What ``read`` finds, the room's number before it, and the room's events committed
    while it read (usually none). Every change of the room moves the number in its own
    transaction, so ``read`` saw the room as it was at the number before, give or take
    those events: the caller squares them."""
    before = await current(db, session_id)
    found = await read()
    after_ = await current(db, session_id)
    meanwhile = await after(db, session_id, before, after_) if after_ != before else []
    return found, before, meanwhile


async def prune(db: AsyncSession) -> None:
    """Forget events older than ``KEPT_FOR``: a client back from longer away is given the
    whole room instead."""
    await db.execute(delete(RoomEvent).where(RoomEvent.recorded_at < utcnow() - KEPT_FOR))
