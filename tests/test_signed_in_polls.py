"""A moderator can keep guests out of a poll: guests cost nothing to make, so an open poll
could otherwise be stuffed through many of them."""

from __future__ import annotations

from sqlalchemy import func, select

from sidestage.platform.access.models import Role
from sidestage.rooms.polls.models import Poll, PollBallot
from tests.helpers import registered_token
from tests.rooms_world import World


async def _ballots(world: World, poll_id: int) -> int:
    async with world.db() as s:  # type: ignore[attr-defined]
        count = select(func.count()).select_from(PollBallot).where(PollBallot.poll_id == poll_id)
        return int(await s.scalar(count) or 0)


async def test_guests_may_not_vote_in_a_poll_for_signed_in_accounts(world: World) -> None:
    room = {"session_id": world.public.id}
    moderator = await world.with_role(Role.MODERATOR, session_id=world.public.id)
    guest = await world.guest("Guest voter")
    member = await world.connect(await registered_token(world.http))
    for person in (moderator, guest, member):
        await person.ok("room.enter", room)
    made = await moderator.ok(
        "poll.create",
        {**room, "question": "Members only?", "options": ["Yes", "No"], "signed_in_only": True},
    )
    created = await moderator.wait_for("poll.created", lambda p: p["poll_id"] == made["poll_id"])
    assert created["signed_in_only"] is True
    await moderator.ok("poll.open", {"poll_id": made["poll_id"]})
    opened = await guest.wait_for("poll.opened", lambda p: p["poll_id"] == made["poll_id"])
    assert opened["signed_in_only"] is True
    ballot = {"poll_id": made["poll_id"], "choices": [0]}
    refused = await guest.call("poll.vote", ballot)
    assert refused["ok"] is False and refused["error"]["code"] == "poll.signed_in_only"
    assert await _ballots(world, made["poll_id"]) == 0
    assert (await member.ok("poll.vote", ballot))["choices"] == [0]
    assert await _ballots(world, made["poll_id"]) == 1
    state = await guest.ok("room.enter", room)
    shown = [p for p in state["polls"] if p["poll_id"] == made["poll_id"]]
    assert [p["signed_in_only"] for p in shown] == [True]


async def test_polls_admit_guests_unless_asked(world: World) -> None:
    room = {"session_id": world.public.id}
    moderator = await world.with_role(Role.MODERATOR, session_id=world.public.id)
    guest = await world.guest("Guest voter")
    await guest.ok("room.enter", room)
    made = await moderator.ok("poll.create", {**room, "question": "Open?", "options": ["a", "b"]})
    await moderator.ok("poll.open", {"poll_id": made["poll_id"]})
    await guest.ok("poll.vote", {"poll_id": made["poll_id"], "choices": [1]})
    async with world.db() as s:  # type: ignore[attr-defined]
        poll = await s.get(Poll, made["poll_id"])
        assert poll is not None and poll.signed_in_only is False
    assert await _ballots(world, made["poll_id"]) == 1
