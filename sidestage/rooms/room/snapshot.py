"""What every participant entering a room is sent alike, kept between entries.

A join storm at the start of a side event sends the same recent chat, open polls and
shared tools to hundreds of people within seconds. Each process keeps one snapshot per
room, at one number of the room's feed, good while the room's epoch lasts
(``platform/epochs.py``): a poll opened or closed, a tool shared, a question asked,
moderated or upvoted, a message deleted, a change on stage moves it on. New chat does
not: the snapshot is brought forward by the messages this process delivered to the room
(``chat.posted`` events, numbered right after it), and so are its captions
(``caption.added``), so a room that chats or is captioned through a join storm is not read
again for every line. Read again it is when other events came between, or when this
process no longer keeps them.

It also knows who has something of their own here (a question in the queue, an upvote),
so that only those people's entries read more; their own ballots and the tallies they
may see are still read for each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sidestage.platform.accounts.models import Account
from sidestage.platform.epochs import Copies, Epoch, Kept
from sidestage.rooms.captions import events as caption_events
from sidestage.rooms.captions import service as captions_service
from sidestage.rooms.captions.models import CaptionLine
from sidestage.rooms.chat import events as chat_events
from sidestage.rooms.chat import service as chat
from sidestage.rooms.chat.models import ChatMessage
from sidestage.rooms.feed import service as feed
from sidestage.rooms.feed.models import RoomEvent, RoomSequence
from sidestage.rooms.feed.service import Numbered
from sidestage.rooms.polls import events as poll_events
from sidestage.rooms.polls import service as polls
from sidestage.rooms.polls.models import Poll, PollBallot, PollStatus
from sidestage.rooms.qa import events as qa_events
from sidestage.rooms.qa import service as qa
from sidestage.rooms.qa.models import Question, QuestionStatus, QuestionVote
from sidestage.rooms.stage import service as stage
from sidestage.rooms.stage.events import OnStage
from sidestage.rooms.stage.models import StageSpeaker
from sidestage.rooms.tools import events as tool_events
from sidestage.rooms.tools import service as tools
from sidestage.rooms.tools.models import Tool

Json = dict[str, Any]


@dataclass(frozen=True)
class RoomSnapshot:
    chat: list[Json]  # the recent messages, oldest first, as sent
    open_polls: list[tuple[Poll, Json]]  # detached polls, each as sent
    closed_polls: list[tuple[Poll, Json]]  # their results stay for whoever may see them
    tools: list[Json]
    questions: list[tuple[QuestionOrder, Json]]  # shown to everyone, as participants see them
    queued_by: frozenset[int]  # people with a question waiting for a moderator
    upvoters: frozenset[int]  # people who upvoted a question here
    speakers: list[OnStage]  # the stage's lineup
    captions: dict[str, list[Json]]  # per language, the recent lines, oldest first, as sent
    seq: int = 0  # the number of the room's last event this snapshot holds

    def open_poll(self, poll_id: int) -> Poll | None:
        return next((poll for poll, _ in self.open_polls if poll.id == poll_id), None)


RECENT_CLOSED = 20  # closed polls a room keeps showing with their results, the latest
QuestionOrder = tuple[bool, int, int]  # sorts as the room lists questions (qa.room_order)

# What a snapshot is read from: a change to any of a room's rows moves the room's epoch.
# A new chat message does not: its event brings the snapshots forward (``RoomSnapshots``);
# a deletion does. Ballots are in no snapshot (tallies are read per entry).
KEPT = (
    Kept(Question, room="session_id"),
    Kept(ChatMessage, inserts=False, room="session_id"),
    Kept(Poll, room="session_id"),
    Kept(Tool, room="session_id"),
    Kept(StageSpeaker, room="session_id"),
    Kept(CaptionLine, inserts=False, room="session_id"),
)
# Also read, and followed otherwise: upvotes move the room's epoch by hand (their rows
# do not name the room, ``qa/service.py``); speakers' names move with every account
# (``realtime/identities.py`` keeps accounts); the feed's tables give the snapshot its
# number, and its events bring it forward. A closed poll's ballots (its tally) change only
# once it is reopened, which moves the room's epoch through its Poll row.
ALSO_READ = (QuestionVote, Account, RoomEvent, RoomSequence, PollBallot)


# The room's events after a number that this process delivered, None if it no longer
# keeps them all (``Transport.delivered_after``).
DeliveredAfter = Callable[[int, int], list[Numbered] | None]


class RoomSnapshots:
    """This process's snapshots, one per room someone entered here."""

    def __init__(self, delivered_after: DeliveredAfter) -> None:
        self._copies: Copies[int, RoomSnapshot] = Copies(_read)
        self._delivered_after = delivered_after

    async def get(self, db: AsyncSession, session_id: int, epoch: Epoch) -> RoomSnapshot:
        """The room's snapshot, at the newest number this process can give it; ``epoch``
        read before this call, before any of the rows."""
        snapshot = await self._copies.get(db, session_id, epoch)
        later = self._delivered_after(session_id, snapshot.seq)
        if later == []:
            return snapshot
        forward = _brought_forward(snapshot, later) if later is not None else None
        if forward is None:
            self._copies.forget(session_id, snapshot)
            return await self._copies.get(db, session_id, epoch)
        self._copies.advance(session_id, snapshot, forward)
        return forward


FOLDED = ("chat.posted", "caption.added")  # the events a snapshot is brought forward by


def _brought_forward(snapshot: RoomSnapshot, later: list[Numbered]) -> RoomSnapshot | None:
    """``snapshot`` with the messages and caption lines of ``later`` (the events right
    after it) added, or None when another kind of event is among them."""
    if any(event.name not in FOLDED for event in later):
        return None
    chat_lines, captions = list(snapshot.chat), dict(snapshot.captions)
    for event in later:
        sent = {k: v for k, v in event.data.items() if k != "seq"}
        if event.name == "chat.posted":
            chat_lines.append(sent)
        else:
            lines = captions.get(sent["language"], [])
            captions[sent["language"]] = (lines + [sent])[-captions_service.RECENT :]
    return replace(snapshot, chat=chat_lines[-chat.PAGE :], captions=captions, seq=later[-1].seq)


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
        captions={
            language: [c for c in lines if ("caption.added", c["id"]) not in added]
            for language, lines in snapshot.captions.items()
        },
    )


async def _closed_poll(db: AsyncSession, poll: Poll) -> Json:
    """A closed poll as sent, with its final tally: everyone may see it, and it cannot
    change while the poll stays closed (reopening it moves the room's epoch)."""
    tally = (await polls.tally(db, poll)).model_dump(mode="json")
    return poll_events.poll_out(poll).model_dump(mode="json") | {"tally": tally}


async def _read_rows(db: AsyncSession, session_id: int) -> RoomSnapshot:
    questions = await qa.questions_of(db, session_id)
    shown = [q for q in questions if q.status in qa.SHOWN]
    messages = await chat.recent(db, session_id)
    shown_polls = await polls.polls_of(
        db, session_id, statuses=[PollStatus.OPEN, PollStatus.CLOSED]
    )
    for poll in shown_polls:
        db.expunge(poll)  # a rollback of this transaction must not expire the copy
    open_polls = [p for p in shown_polls if p.status == PollStatus.OPEN]
    closed_polls = [p for p in shown_polls if p.status == PollStatus.CLOSED]
    return RoomSnapshot(
        chat=[chat_events.posted(m).model_dump(mode="json") for m in messages],
        open_polls=[(p, poll_events.poll_out(p).model_dump(mode="json")) for p in open_polls],
        closed_polls=[(p, await _closed_poll(db, p)) for p in closed_polls[-RECENT_CLOSED:]],
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
        captions={
            language: [caption_events.added(line).model_dump(mode="json") for line in lines]
            for language, lines in (await captions_service.recent(db, session_id)).items()
        },
    )
