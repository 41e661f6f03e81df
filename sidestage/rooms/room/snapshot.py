"""What every participant entering a room is sent alike, kept between entries.

A join storm at the start of a side event sends the same recent chat, open polls and
shared tools to hundreds of people within seconds. Each process keeps one snapshot per
room, good while the room's epoch lasts (``platform/epochs.py``): a chat message, a poll
opened or closed, a tool shared moves it on. What differs per person (their own votes,
their questions, the tallies they may see) is still read for each.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sidestage.platform.epochs import Copies
from sidestage.rooms.chat import events as chat_events
from sidestage.rooms.chat import service as chat
from sidestage.rooms.polls import events as poll_events
from sidestage.rooms.polls import service as polls
from sidestage.rooms.polls.models import Poll, PollStatus
from sidestage.rooms.tools import events as tool_events
from sidestage.rooms.tools import service as tools

Json = dict[str, Any]


@dataclass(frozen=True)
class RoomSnapshot:
    chat: list[Json]  # the recent messages, oldest first, as sent
    open_polls: list[tuple[Poll, Json]]  # detached polls, each as sent
    tools: list[Json]


RoomSnapshots = Copies[int, RoomSnapshot]  # per session id, by the room's own epoch


def room_snapshots() -> RoomSnapshots:
    """This process's snapshots, one per room someone entered here."""
    return Copies(_read)


async def _read(db: AsyncSession, session_id: int) -> RoomSnapshot:
    messages = await chat.recent(db, session_id)
    open_polls = await polls.polls_of(db, session_id, statuses=[PollStatus.OPEN])
    for poll in open_polls:
        db.expunge(poll)  # a rollback of this transaction must not expire the copy
    return RoomSnapshot(
        chat=[chat_events.posted(m).model_dump(mode="json") for m in messages],
        open_polls=[(p, poll_events.poll_out(p).model_dump(mode="json")) for p in open_polls],
        tools=[
            tool_events.tool_out(t).model_dump(mode="json")
            for t in await tools.tools_of(db, session_id)
        ],
    )
