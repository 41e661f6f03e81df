"""The room's state as one answer to ``room.enter``: what a (re)joining client needs."""

from __future__ import annotations

from typing import Any

from sidestage.platform.program.models import Session
from sidestage.rooms.chat import service as chat
from sidestage.rooms.commands import Context
from sidestage.rooms.polls import events as poll_events
from sidestage.rooms.polls import service as polls
from sidestage.rooms.polls.models import PollStatus
from sidestage.rooms.qa import events as qa_events
from sidestage.rooms.qa import service as qa
from sidestage.rooms.qa.models import QuestionStatus
from sidestage.rooms.room import service as room
from sidestage.rooms.room.snapshot import RoomSnapshot
from sidestage.rooms.stage import service as stage


async def room_state(ctx: Context, session: Session, since: int | None) -> dict[str, Any]:
    """The whole room as its snapshot holds it, at the snapshot's number (``seq``)."""
    moderator = ctx.principal.moderates(session)
    shared = await _snapshot(ctx, session)
    state: dict[str, Any] = {
        **_common(ctx, session, moderator, shared),
        **_chat(since, shared),
        "polls": await _shown_polls(ctx, shared, moderator),
        "questions": await _questions(ctx, session.id, moderator, shared),
        "upvoted": await _upvoted(ctx, session.id, shared),
        "tools": list(shared.tools),
        "stage": await _stage(ctx, session.id, shared),
        "captions": {language: list(lines) for language, lines in shared.captions.items()},
    }
    if moderator:
        state["moderation"] = await _moderation(ctx, session, state["questions"])
    return state


async def resumed_state(ctx: Context, session: Session, since_seq: int) -> dict[str, Any]:
    """What a client that saw the room up to ``since_seq`` lacks besides the room's events
    after it (which follow the answer): the parts that are not events of the room."""
    moderator = ctx.principal.moderates(session)
    shared = await _snapshot(ctx, session)
    state: dict[str, Any] = {
        **_common(ctx, session, moderator, shared),
        "seq": since_seq,
        "resumed": True,
        "polls": await _shown_polls(ctx, shared, moderator),  # tallies are not room events
        "upvoted": await _upvoted(ctx, session.id, shared),
    }
    if moderator:  # moderation traffic is not in the room's feed
        questions = await _questions(ctx, session.id, moderator, shared)
        state["moderation"] = await _moderation(ctx, session, questions)
    return state


async def _snapshot(ctx: Context, session: Session) -> RoomSnapshot:
    epoch = await ctx.services.epochs.of_room_in(ctx.db, session.id)  # before the room's rows
    return await ctx.services.snapshots.get(ctx.db, session.id, epoch)


def _common(
    ctx: Context, session: Session, moderator: bool, shared: RoomSnapshot
) -> dict[str, Any]:
    assert ctx.room is not None
    return {
        "session_id": session.id,
        "moderator": moderator,
        "seq": shared.seq,
        "resumed": False,
        "settings": {
            "slow_mode": ctx.room.slow_mode_seconds,
            "qa_moderated": ctx.room.qa_moderated,
        },
        "languages": {
            "floor": list(session.languages),
            "interpretation": list(session.interpretation_languages),
            "captions": list(session.caption_languages),
        },
        "may_caption": ctx.principal.may_caption(session),
        "may_interpret": ctx.principal.may_interpret(session),
    }


def _chat(since: int | None, shared: RoomSnapshot) -> dict[str, Any]:
    """Recent messages; with ``since``, those of them after it. Taken from the snapshot,
    so that they end where its number does: the events after it follow the answer."""
    if since is None:
        return {"chat": list(shared.chat), "chat_truncated": False}
    listed = [message for message in shared.chat if message["id"] > since]
    truncated = len(listed) == len(shared.chat) == chat.PAGE  # older unsent ones may remain
    return {"chat": listed, "chat_truncated": truncated}


async def _shown_polls(ctx: Context, shared: RoomSnapshot, moderator: bool) -> list[dict[str, Any]]:
    """The open polls, and the closed ones with their results: a reload must not lose them."""
    shown = []
    for poll, sent in shared.closed_polls + shared.open_polls:
        mine = await polls.own_choices(ctx.db, poll.id, ctx.account.id)
        if mine is not None:
            ctx.connection.voted_polls[poll.id] = poll.session_id
        entry: dict[str, Any] = {**sent, "own": mine}  # a closed poll's tally comes with it
        if "tally" not in entry and polls.may_see_results(poll, moderator, mine is not None):
            entry["tally"] = (await polls.tally(ctx.db, poll)).model_dump(mode="json")
        shown.append(entry)
    return shown


async def _questions(
    ctx: Context, session_id: int, moderator: bool, shared: RoomSnapshot
) -> list[dict[str, Any]]:
    """Moderators see every question; others those shown to all, and their own queued."""
    if moderator:
        found = await qa.questions_of(ctx.db, session_id)
        return [
            qa_events.question_out(q, for_moderators=True).model_dump(mode="json") for q in found
        ]
    if ctx.account.id not in shared.queued_by:
        return [question for _, question in shared.questions]
    own = [
        (qa.room_order(q), qa_events.question_out(q, for_moderators=False).model_dump(mode="json"))
        for q in await qa.queued_by(ctx.db, session_id, ctx.account.id)
    ]
    return [question for _, question in sorted(shared.questions + own, key=lambda q: q[0])]


async def _upvoted(ctx: Context, session_id: int, shared: RoomSnapshot) -> list[int]:
    if ctx.account.id not in shared.upvoters:
        return []
    return await qa.upvoted_by(ctx.db, session_id, ctx.account.id)


async def _stage(ctx: Context, session_id: int, shared: RoomSnapshot) -> dict[str, Any]:
    found = await stage.stage_with(ctx.services.stage, session_id, shared.speakers)
    return found.model_dump(mode="json")


async def _moderation(
    ctx: Context, session: Session, questions: list[dict[str, Any]]
) -> dict[str, Any]:
    """``questions``: every question, as moderators see them (the queue is among them)."""
    session_id = session.id
    drafts_and_closed = await polls.polls_of(
        ctx.db, session_id, statuses=[PollStatus.DRAFT, PollStatus.CLOSED]
    )
    return {
        "queue": [q for q in questions if q["status"] == QuestionStatus.PENDING],
        "polls": [poll_events.poll_out(p).model_dump(mode="json") for p in drafts_and_closed],
        "removed": await room.removed_accounts(ctx.db, session_id),
        "stage_candidates": [
            c.model_dump(mode="json") for c in await stage.candidates(ctx.db, session)
        ],
    }
