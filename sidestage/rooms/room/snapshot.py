"""What every participant entering a room is sent alike, kept between entries.

A join storm at the start of a side event sends the same recent chat, open polls and
shared tools to hundreds of people within seconds. Each process keeps one snapshot per
room, good while the room's epoch lasts (``platform/epochs.py``): a chat message, a poll
opened or closed, a tool shared, a question asked, moderated or upvoted, a change on stage
moves it on. It also knows who has something of their own here (a question in the queue,
an upvote), so that only those people's entries read more; their own ballots and the
tallies they may see are still read for each.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sidestage.platform.epochs import Copies
from sidestage.rooms.chat import events as chat_events
from sidestage.rooms.chat import service as chat
from sidestage.rooms.feed import service as feed
from sidestage.rooms.polls import events as poll_events
from sidestage.rooms.polls import service as polls
from sidestage.rooms.polls.models import Poll, PollStatus
from sidestage.rooms.qa import events as qa_events
from sidestage.rooms.qa import service as qa
from sidestage.rooms.qa.models import QuestionStatus
from sidestage.rooms.stage import service as stage
from sidestage.rooms.stage.events import OnStage
from sidestage.rooms.tools import events as tool_events
from sidestage.rooms.tools import service as tools

Json = dict[str, Any]


@dataclass(frozen=True)
class RoomSnapshot:
    chat: list[Json]  # the recent messages, oldest first, as sent
    open_polls: list[tuple[Poll, Json]]  # detached polls, each as sent
    tools: list[Json]
    questions: list[tuple[QuestionOrder, Json]]  # shown to everyone, as participants see them
    queued_by: frozenset[int]  # people with a question waiting for a moderator
    upvoters: frozenset[int]  # people who upvoted a question here
    speakers: list[OnStage]  # the stage's lineup
    seq: int = 0  # the number of the room's last event this snapshot holds

    def open_poll(self, poll_id: int) -> Poll | None:
        return next((poll for poll, _ in self.open_polls if poll.id == poll_id), None)


QuestionOrder = tuple[bool, int, int]  # sorts as the room lists questions (qa.room_order)


RoomSnapshots = Copies[int, RoomSnapshot]  # per session id, by the room's own epoch


def room_snapshots() -> RoomSnapshots:
    """This process's snapshots, one per room someone entered here."""
    return Copies(_read)


async def _read(db: AsyncSession, session_id: int) -> RoomSnapshot:
    """The room as it was at one number of its feed: whoever enters from this snapshot
    is sent the events after that number. Should the room change while its rows are
    read, the snapshot stands at the number before, without the messages and tools those
    changes added: they follow as events, once. The other events then sent again only
    set what the snapshot may already show (a question's upvotes, a poll closed), in
    order, ending where the room is."""
    read = await feed.between(db, session_id, lambda: _read_rows(db, session_id))
    snapshot, seq, meanwhile = read
    added = {(e.name, e.data.get("id")) for e in meanwhile}
    return replace(
        snapshot,
        seq=seq,
        chat=[m for m in snapshot.chat if ("chat.posted", m["id"]) not in added],
        tools=[t for t in snapshot.tools if ("tool.launched", t["id"]) not in added],
    )


async def _read_rows(db: AsyncSession, session_id: int) -> RoomSnapshot:
    questions = await qa.questions_of(db, session_id)
    shown = [q for q in questions if q.status in qa.SHOWN]
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
        questions=[
            (
                qa.room_order(q),
                qa_events.question_out(q, for_moderators=False).model_dump(mode="json"),
            )
            for q in shown
        ],
        queued_by=frozenset(q.account_id for q in questions if q.status == QuestionStatus.PENDING),
        upvoters=frozenset(await qa.upvoters(db, session_id)),
        speakers=await stage.speakers(db, session_id),
    )
