"""The command registry: every live-room command declares its payload, room and permission.

One dispatcher (in ``sidestage.realtime``) parses the payload, resolves the room,
checks the permission and only then calls the handler, so no handler repeats a guard.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession

from sidestage.platform.access.service import Principal
from sidestage.platform.accounts.models import Account
from sidestage.platform.epochs import Copy
from sidestage.platform.program.models import Session
from sidestage.rooms.events import Outbox
from sidestage.rooms.room.config import RoomConfig
from sidestage.rooms.shared import RoomServices


class Permission(enum.StrEnum):
    PARTICIPANT = "participant"  # may enter the session (visibility, invites, roles)
    MODERATOR = "moderator"  # moderates this session: organizer, its host, a moderator
    SIGNED_IN = "signed_in"  # any connected account; the command checks nothing more


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)


Identity = Copy[tuple[Account, Principal]]  # who a connection is, kept between its commands


@dataclass
class Connection:
    """What the transport knows about one connected client (kept in its Socket.IO session)."""

    sid: str
    account_id: int
    name: str
    rooms: set[int] = field(default_factory=set)
    voted_polls: dict[int, int] = field(default_factory=dict)  # poll -> its session
    identity: Identity | None = None
    gone: bool = False  # disconnected: a command still running must not leave it in a room


@dataclass
class Context:
    """Everything a handler may use: one transaction, who asks, the room, the outbox."""

    db: AsyncSession
    account: Account
    principal: Principal
    session: Session | None  # the room's shared copy (see rooms/room/config.py): read only
    connection: Connection
    outbox: Outbox
    services: RoomServices
    room: RoomConfig | None = None  # the session's room configuration, when it has one


Handler = Callable[[Context, Any], Awaitable[dict[str, Any]]]
RoomResolver = Callable[[AsyncSession, Any, RoomServices], Awaitable[int | None]]


@dataclass(frozen=True)
class Command:
    name: str
    payload: type[Payload]
    permission: Permission
    handler: Handler
    room: RoomResolver | None
    summary: str
    needs_entry: bool  # the connection must have entered the room first


class Registry:
    def __init__(self) -> None:
        self.commands: dict[str, Command] = {}

    def command(
        self,
        name: str,
        payload: type[Payload],
        permission: Permission,
        *,
        room: RoomResolver | None = None,
        roomless: bool = False,
        summary: str = "",
        needs_entry: bool = True,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            if name in self.commands:
                raise ValueError(f"command {name} registered twice")
            resolver = None if roomless else (room or by_session_id)
            self.commands[name] = Command(
                name, payload, permission, handler, resolver, summary, needs_entry
            )
            return handler

        return register


async def by_session_id(db: AsyncSession, payload: Any, services: RoomServices) -> int | None:
    return getattr(payload, "session_id", None)


def room_of(model: type[Any], field: str) -> RoomResolver:
    """The room of the item a payload names by id (a message, a poll, a question)."""

    async def resolve(db: AsyncSession, payload: Any, services: RoomServices) -> int | None:
        found = await db.get(model, getattr(payload, field))
        return int(found.session_id) if found is not None else None

    return resolve


registry = Registry()
