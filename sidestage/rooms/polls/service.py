"""Polls. A vote is one ballot row per person (the primary key), so two tabs or two
processes voting at once still count once; changing a vote replaces its choices."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sidestage.platform.accounts.models import Account
from sidestage.platform.db import utcnow
from sidestage.platform.errors import Conflict, Forbidden, InvalidInput, NotFound
from sidestage.platform.spreadsheet import csv_document
from sidestage.rooms import events as audience
from sidestage.rooms.commands import Context
from sidestage.rooms.common import clean_text
from sidestage.rooms.events import Outbox
from sidestage.rooms.polls import events
from sidestage.rooms.polls.models import Poll, PollBallot, PollChoice, PollStatus, ResultsShown
from sidestage.rooms.shared import RoomServices

MIN_OPTIONS, MAX_OPTIONS = 2, 10
MAX_POLL_HINTS = 10_000


async def create(
    ctx: Context,
    session_id: int,
    question: str,
    options: Sequence[str],
    *,
    multiple: bool,
    anonymous: bool,
    signed_in_only: bool,
    results: ResultsShown,
) -> Poll:
    cleaned = [clean_text(option, 200, "poll") for option in options]
    if not MIN_OPTIONS <= len(cleaned) <= MAX_OPTIONS:
        raise InvalidInput("poll.bad_options", "A poll has 2 to 10 options.")
    if len(set(cleaned)) != len(cleaned):
        raise InvalidInput("poll.bad_options", "Two options are the same.")
    poll = Poll(
        session_id=session_id,
        question=clean_text(question, 500, "poll"),
        options=cleaned,
        multiple=multiple,
        anonymous=anonymous,
        signed_in_only=signed_in_only,
        results_shown=results,
        status=PollStatus.DRAFT,
        created_by=ctx.account.id,
    )
    ctx.db.add(poll)
    await ctx.db.flush()
    ctx.outbox.add("poll.created", events.poll_out(poll), audience.moderators(session_id))
    return poll


async def get_poll(db: AsyncSession, poll_id: int) -> Poll:
    poll = await db.get(Poll, poll_id)
    if poll is None:
        raise NotFound("poll.not_found", "There is no such poll.")
    return poll


async def open_poll(ctx: Context, poll_id: int) -> Poll:
    """Open a draft, or reopen a closed poll; votes already cast are kept."""
    poll = await get_poll(ctx.db, poll_id)
    if poll.status == PollStatus.OPEN:
        return poll
    poll.status, poll.opened_at, poll.closed_at = PollStatus.OPEN, utcnow(), None
    await ctx.db.flush()
    ctx.outbox.add("poll.opened", events.poll_out(poll), audience.room(poll.session_id))
    ctx.outbox.poll_changed(poll.id)
    return poll


async def close_poll(ctx: Context, poll_id: int) -> Poll:
    poll = await get_poll(ctx.db, poll_id)
    if poll.status != PollStatus.OPEN:
        raise Conflict("poll.not_open", "This poll is not open.")
    poll.status, poll.closed_at = PollStatus.CLOSED, utcnow()
    await ctx.db.flush()
    body = events.Closed(poll_id=poll.id, session_id=poll.session_id)
    ctx.outbox.add("poll.closed", body, audience.room(poll.session_id))
    ctx.outbox.poll_changed(poll.id)
    return poll


async def vote_room(db: AsyncSession, payload: Any, services: RoomServices) -> int | None:
    """The room of the poll a vote names.

    A vote burst is thousands of votes in a few open polls. Read from the database twice
    per vote (here and in ``vote``), those reads were most of a vote's cost and overflowed
    SQLite's pool. So both look in the room's snapshot, which lists its open polls and is
    good while the room's epoch lasts. Which room that is comes from a hint, trusted only
    once the room's current snapshot lists the poll as open; else the poll is read.
    """
    poll_id = int(payload.poll_id)
    hinted = services.poll_rooms.get(poll_id)
    if hinted is not None and await open_in_snapshot(db, services, hinted, poll_id):
        return hinted
    found = await db.get(Poll, poll_id)
    if found is None:
        return None
    if found.status == PollStatus.OPEN:
        if len(services.poll_rooms) >= MAX_POLL_HINTS:
            services.poll_rooms.clear()  # a conference has far fewer open at once
        services.poll_rooms[poll_id] = found.session_id
    return int(found.session_id)


async def open_in_snapshot(
    db: AsyncSession, services: RoomServices, session_id: int, poll_id: int
) -> Poll | None:
    """The poll, detached and read only, if the room's current snapshot has it open (a
    vote asks twice: the room's epoch is read once)."""
    epoch = await services.epochs.of_room_in(db, session_id)  # before the room's rows
    shared = await services.snapshots.get(db, session_id, epoch)
    return shared.open_poll(poll_id)


async def vote(ctx: Context, poll_id: int, choices: Sequence[int]) -> Poll:
    """Check the vote; it is written, with the others cast at the same moment, once the
    command's own (reading) transaction is over, and committed before the answer. A poll
    closed after the snapshot was read is caught there (``ballots.py``)."""
    assert ctx.session is not None
    poll = await open_in_snapshot(ctx.db, ctx.services, ctx.session.id, poll_id)
    if poll is None:
        poll = await get_poll(ctx.db, poll_id)
    if poll.status != PollStatus.OPEN:
        raise Conflict("poll.closed", "This poll is not open for votes.")
    if poll.signed_in_only and ctx.account.is_guest:
        raise Forbidden(
            "poll.signed_in_only", "Only signed-in participants vote in this poll: log in first."
        )
    chosen = _valid_choices(poll, choices)
    ballots, account_id = ctx.services.ballots, ctx.account.id
    ctx.outbox.after_commit.append(lambda: ballots.cast(poll.id, account_id, chosen))
    ctx.outbox.poll_changed(poll.id)
    return poll


def _valid_choices(poll: Poll, choices: Sequence[int]) -> list[int]:
    chosen = sorted(set(choices))
    if not chosen:
        raise InvalidInput("poll.no_choice", "Choose an option.")
    if len(chosen) != len(choices):
        raise InvalidInput("poll.bad_choice", "An option is chosen twice.")
    if not poll.multiple and len(chosen) > 1:
        raise InvalidInput("poll.single_choice", "Choose one option only.")
    if any(not 0 <= c < len(poll.options) for c in chosen):
        raise InvalidInput("poll.bad_choice", "There is no such option.")
    return chosen


async def tally(db: AsyncSession, poll: Poll) -> events.Results:
    """Counts and voters from one statement, so both come from the same snapshot even
    while votes keep arriving (a ballot and its choices commit together)."""
    voters = (
        select(func.count())
        .select_from(PollBallot)
        .where(PollBallot.poll_id == poll.id)
        .scalar_subquery()
    )
    version = select(Poll.version).where(Poll.id == poll.id).scalar_subquery()
    rows = await db.execute(
        select(PollChoice.option, func.count(), voters, version)
        .where(PollChoice.poll_id == poll.id)
        .group_by(PollChoice.option)
    )
    # No rows means no vote was ever cast (ballots are replaced, never deleted): version 0.
    counts, total, seen = [0] * len(poll.options), 0, 0
    for option, count, everyone, at in rows:
        counts[option], total, seen = int(count), int(everyone), int(at)
    return events.Results(poll_id=poll.id, counts=counts, voters=total, version=seen)


async def own_choices(db: AsyncSession, poll_id: int, account_id: int) -> list[int] | None:
    ballot = await db.get(PollBallot, (poll_id, account_id))
    if ballot is None:
        return None
    rows = await db.scalars(
        select(PollChoice.option)
        .where(PollChoice.poll_id == poll_id, PollChoice.account_id == account_id)
        .order_by(PollChoice.option)
    )
    return list(rows)


async def polls_of(db: AsyncSession, session_id: int, *, statuses: Sequence[str]) -> list[Poll]:
    query = select(Poll).where(Poll.session_id == session_id, Poll.status.in_(statuses))
    return list((await db.scalars(query.order_by(Poll.id))).all())


async def publish_results(db: AsyncSession, poll_id: int, outbox: Outbox) -> None:
    """The coalesced tally, to whoever may see it at this moment."""
    poll = await db.get(Poll, poll_id)
    if poll is None:
        return
    results = await tally(db, poll)
    if poll.results_shown == ResultsShown.LIVE or poll.status == PollStatus.CLOSED:
        outbox.add("poll.results_changed", results, audience.room(poll.session_id))
        return  # moderators are in the room too
    outbox.add("poll.results_changed", results, audience.moderators(poll.session_id))
    if poll.results_shown == ResultsShown.AFTER_VOTE:
        outbox.add("poll.results_changed", results, audience.poll_voters(poll.id))


def may_see_results(poll: Poll, moderator: bool, voted: bool) -> bool:
    if moderator or poll.results_shown == ResultsShown.LIVE or poll.status == PollStatus.CLOSED:
        return True
    return poll.results_shown == ResultsShown.AFTER_VOTE and voted


async def results_csv(db: AsyncSession, poll: Poll) -> str:
    """Tallies, and each voter's choices unless the poll is anonymous."""
    results = await tally(db, poll)
    lines: list[list[object]] = [["poll", poll.question], ["option", "votes"]]
    lines += [[o, n] for o, n in zip(poll.options, results.counts, strict=True)]
    lines.append(["voters", results.voters])
    if not poll.anonymous:
        lines += [[], ["voter", "choices"]]
        rows = await db.execute(
            select(Account.display_name, PollChoice.option)
            .join(Account, Account.id == PollChoice.account_id)
            .where(PollChoice.poll_id == poll.id)
            .order_by(Account.display_name, PollChoice.option)
        )
        lines += [[voter, poll.options[chosen]] for voter, chosen in rows]
    return csv_document(lines)
