"""Entering and leaving rooms, removing a participant, watching the marathon."""

from __future__ import annotations

from asyncio import Future
from functools import partial
from typing import Any

from pydantic import Field

from sidestage.platform.access.service import inviting_organization
from sidestage.platform.errors import Conflict, Forbidden, InvalidInput
from sidestage.platform.program.models import Session
from sidestage.rooms import events as audience
from sidestage.rooms.commands import Connection, Context, Payload, Permission, registry
from sidestage.rooms.common import MAX_ID, require_person
from sidestage.rooms.feed import service as feed
from sidestage.rooms.room import events, service
from sidestage.rooms.room.state import resumed_state, room_state
from sidestage.rooms.shared import RoomServices


class EnterIn(Payload):
    session_id: int = Field(ge=1, le=MAX_ID)
    since: int | None = Field(default=None, ge=0, le=MAX_ID)  # last chat message id seen
    since_seq: int | None = Field(default=None, ge=0, le=MAX_ID)  # last room event seen


class RoomIn(Payload):
    session_id: int = Field(ge=1, le=MAX_ID)


class RemoveIn(Payload):
    session_id: int = Field(ge=1, le=MAX_ID)
    account_id: int = Field(ge=1, le=MAX_ID)


class NothingIn(Payload):
    pass


@registry.command(
    "room.enter",
    EnterIn,
    Permission.PARTICIPANT,
    needs_entry=False,
    summary="Enter a live room; answers its whole state",
)
async def enter(ctx: Context, p: EnterIn) -> dict[str, Any]:
    session = ctx.session
    assert session is not None
    if not session.live:
        raise Conflict("room.not_live", "This session takes place on site, not online.")
    assert ctx.room is not None
    if ctx.account.id in ctx.room.removed:  # moderators too: they pass the dispatcher's check
        raise Forbidden("room.removed", "A moderator removed you from this room.")
    state = await _state(ctx, session, p)
    if session.id in ctx.connection.rooms:
        _follow_again(ctx, session.id, state["seq"])
    else:
        await _arrive(ctx, inviting_organization(ctx.principal, session), state["seq"])
    state["count"] = (await ctx.services.presence.counts([session.id]))[session.id]
    return state


async def _state(ctx: Context, session: Session, p: EnterIn) -> dict[str, Any]:
    """The room from ``since_seq`` on while its feed still keeps every event after it,
    else the whole room."""
    if p.since_seq is not None and await feed.kept_after(ctx.db, session.id, p.since_seq):
        return await resumed_state(ctx, session, p.since_seq)
    return await room_state(ctx, session, p.since)


def _follow_again(ctx: Context, session_id: int, seq: int) -> None:
    """Entering again on the same connection: its events start over after ``seq``."""
    transport, sid = ctx.services.transport, ctx.connection.sid
    ctx.outbox.after_commit.append(partial(transport.leave, sid, audience.room(session_id)))
    ctx.outbox.after_commit.append(partial(transport.admit, sid, session_id, seq))


async def _arrive(ctx: Context, organization_id: int | None, seq: int) -> None:
    """Count the person in, start their stay, and join the room's channels after commit,
    its events from after ``seq`` on."""
    assert ctx.session is not None
    session_id, services, connection = ctx.session.id, ctx.services, ctx.connection
    # Nothing is awaited from here to the end: a disconnect handled meanwhile sees the
    # person in the room, or not at all (then ``_depart_if_gone`` sees to it).
    expected = None
    if await services.presence.join(session_id, ctx.account.id):
        expected = services.stays.expect(session_id, ctx.account.id)
        stay = partial(_open_stay, services, connection, session_id, organization_id, expected)
        ctx.outbox.after_commit.append(stay)  # first: the channels are joined only after it
    connection.rooms.add(session_id)
    undo = partial(_undo_arrival, services, connection, session_id, expected)
    ctx.outbox.on_rollback.append(undo)
    voted = [p for p, s in connection.voted_polls.items() if s == session_id]
    channels = [audience.poll_voters(p) for p in voted]
    if ctx.principal.moderates(ctx.session):
        channels.append(audience.moderators(session_id))
    for channel in channels:
        ctx.outbox.after_commit.append(partial(services.transport.join, connection.sid, channel))
    admit = partial(services.transport.admit, connection.sid, session_id, seq)
    ctx.outbox.after_commit.append(admit)
    ctx.outbox.after_commit.append(partial(_depart_if_gone, services, connection, session_id))


async def _depart_if_gone(services: RoomServices, connection: Connection, session_id: int) -> None:
    """A disconnect handled while this entry was still running left the rooms it knew of;
    this one it may not have seen: without this the person would count as here, and
    their stay stay open, until the sweeper."""
    if connection.gone:
        await depart(services, connection, session_id)


async def _open_stay(
    services: RoomServices,
    connection: Connection,
    session_id: int,
    organization_id: int | None,
    expected: Future[None],
) -> None:
    """Committed with other arrivals, before the answer; if that fails, the person has
    not arrived."""
    try:
        await services.stays.open(session_id, connection.account_id, organization_id, expected)
    except Exception:
        await _undo_arrival(services, connection, session_id, expected)
        raise


async def _undo_arrival(
    services: RoomServices, connection: Connection, session_id: int, expected: Future[None] | None
) -> None:
    if expected is not None:
        services.stays.abandon(session_id, connection.account_id, expected)
    if session_id in connection.rooms:  # else a disconnect's departure saw to it
        connection.rooms.discard(session_id)
        await services.presence.leave(session_id, connection.account_id)


@registry.command(
    "room.leave", RoomIn, Permission.SIGNED_IN, needs_entry=False, summary="Leave a live room"
)
async def leave(ctx: Context, p: RoomIn) -> dict[str, Any]:
    services, connection = ctx.services, ctx.connection
    ctx.outbox.after_commit.append(lambda: depart(services, connection, p.session_id))
    return {}


async def depart(services: RoomServices, connection: Connection, session_id: int) -> None:
    """Leave one room: the stay ends when the person's last connection there goes."""
    if session_id not in connection.rooms:
        return
    connection.rooms.discard(session_id)
    voted = [p for p, s in connection.voted_polls.items() if s == session_id]
    channels = [audience.room(session_id), audience.moderators(session_id)]
    for channel in channels + [audience.poll_voters(p) for p in voted]:
        await services.transport.leave(connection.sid, channel)
    if await services.presence.leave(session_id, connection.account_id):
        await services.stays.close(session_id, connection.account_id)


async def depart_all(services: RoomServices, connection: Connection) -> None:
    for session_id in list(connection.rooms):
        await depart(services, connection, session_id)


@registry.command(
    "room.remove",
    RemoveIn,
    Permission.MODERATOR,
    summary="Remove a participant from the room for good",
)
async def remove(ctx: Context, p: RemoveIn) -> dict[str, Any]:
    if p.account_id == ctx.account.id:
        raise InvalidInput("room.remove_self", "You cannot remove yourself.")
    await require_person(ctx, p.account_id, "room")
    await service.remove(ctx.db, p.session_id, p.account_id, ctx.account.id)
    ctx.outbox.add(
        "room.removed", events.Removed(session_id=p.session_id), audience.user(p.account_id)
    )
    transport = ctx.services.transport
    ctx.outbox.after_commit.append(lambda: transport.remove_user(p.account_id, p.session_id))
    return {}


@registry.command(
    "marathon.watch",
    NothingIn,
    Permission.SIGNED_IN,
    roomless=True,
    needs_entry=False,
    summary="Receive every live room's participant count each second",
)
async def watch(ctx: Context, p: NothingIn) -> dict[str, Any]:
    transport, sid = ctx.services.transport, ctx.connection.sid
    ctx.outbox.after_commit.append(lambda: transport.join(sid, audience.MARATHON))
    return {}
