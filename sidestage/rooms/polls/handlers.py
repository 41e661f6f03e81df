"""Poll commands."""

from __future__ import annotations

from functools import partial
from typing import Any

from pydantic import Field

from sidestage.rooms.commands import Context, Payload, Permission, registry, room_of
from sidestage.rooms.common import MAX_ID
from sidestage.rooms.events import poll_voters
from sidestage.rooms.polls import service
from sidestage.rooms.polls.models import Poll, ResultsShown


class CreateIn(Payload):
    session_id: int = Field(ge=1, le=MAX_ID)
    question: str = Field(max_length=2000)
    options: list[str] = Field(max_length=service.MAX_OPTIONS + 5)
    multiple: bool = False
    anonymous: bool = True
    signed_in_only: bool = False
    results: ResultsShown = Field(default=ResultsShown.LIVE, strict=False)


class PollIn(Payload):
    poll_id: int = Field(ge=1, le=MAX_ID)


class VoteIn(Payload):
    poll_id: int = Field(ge=1, le=MAX_ID)
    choices: list[int] = Field(max_length=service.MAX_OPTIONS)


poll_room = room_of(Poll, "poll_id")


@registry.command("poll.create", CreateIn, Permission.MODERATOR, summary="Prepare a poll")
async def create(ctx: Context, p: CreateIn) -> dict[str, Any]:
    poll = await service.create(
        ctx,
        p.session_id,
        p.question,
        p.options,
        multiple=p.multiple,
        anonymous=p.anonymous,
        signed_in_only=p.signed_in_only,
        results=p.results,
    )
    return {"poll_id": poll.id}


@registry.command(
    "poll.open",
    PollIn,
    Permission.MODERATOR,
    room=poll_room,
    summary="Open a poll, or reopen a closed one",
)
async def open_poll(ctx: Context, p: PollIn) -> dict[str, Any]:
    poll = await service.open_poll(ctx, p.poll_id)
    return {"status": poll.status}


@registry.command(
    "poll.close", PollIn, Permission.MODERATOR, room=poll_room, summary="Close a poll"
)
async def close_poll(ctx: Context, p: PollIn) -> dict[str, Any]:
    poll = await service.close_poll(ctx, p.poll_id)
    return {"status": poll.status}


@registry.command(
    "poll.vote",
    VoteIn,
    Permission.PARTICIPANT,
    room=service.vote_room,
    summary="Vote, or change one's vote while the poll is open",
)
async def vote(ctx: Context, p: VoteIn) -> dict[str, Any]:
    poll = await service.vote(ctx, p.poll_id, p.choices)
    # After the vote's own write (the step before): a vote refused there, the poll closed
    # meanwhile, leaves the connection as if it had not voted.
    after_vote = poll.results_shown == ResultsShown.AFTER_VOTE
    ctx.outbox.after_commit.append(partial(_voted, ctx, poll.id, poll.session_id, after_vote))
    return {"choices": sorted(set(p.choices))}


async def _voted(ctx: Context, poll_id: int, session_id: int, results_after_vote: bool) -> None:
    ctx.connection.voted_polls[poll_id] = session_id
    if results_after_vote:
        await ctx.services.transport.join(ctx.connection.sid, poll_voters(poll_id))
