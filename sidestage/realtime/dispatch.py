"""The one dispatcher: parse, resolve the room, check the declared permission, run the
handler in one transaction, publish its events after the commit, answer with an ack.

Errors become ``{"ok": false, "error": {"code", "message"}}`` here and nowhere else;
a database or Redis out of reach is answered ``server.unavailable`` (with ``retry_after``),
other unexpected exceptions are logged and answered ``server.error``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from sidestage.platform.access.service import Principal, check_session_access, load_principal
from sidestage.platform.accounts.models import Account
from sidestage.platform.db import transaction_if_used
from sidestage.platform.epochs import Copy, Epoch
from sidestage.platform.errors import (
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    SidestageError,
    Unauthenticated,
)
from sidestage.platform.metrics import Metrics
from sidestage.platform.outages import unavailable, unreachable
from sidestage.platform.ratelimit import MemoryRateLimiter
from sidestage.platform.text import find_nul
from sidestage.rooms.commands import (
    Command,
    Connection,
    Context,
    Identity,
    Permission,
    by_session_id,
)
from sidestage.rooms.events import Outbox
from sidestage.rooms.feed import service as feed
from sidestage.rooms.room.config import RoomConfig
from sidestage.rooms.shared import RoomServices

log = logging.getLogger("sidestage.realtime")
Ack = dict[str, Any]
Publish = Callable[[Outbox], Awaitable[None]]
FLOOD = (30, 5.0)  # commands per connection per seconds
# Commands running at once in a process; the rest wait their turn, in order, holding
# nothing. Without this a burst (ten thousand people voting within a second) has every
# command waiting in the database and Redis pools' queues, and those still waiting when
# the pools' timeouts expire fail. A hundred keeps each pool wait well under a second,
# and leaves room for stage commands that wait on a media worker.
RUNNING_AT_ONCE = 100


def ok(data: dict[str, Any]) -> Ack:
    return {"ok": True, "data": data}


def failed(error: SidestageError) -> Ack:
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.details is not None:
        body["details"] = error.details
    return {"ok": False, "error": body}


class Dispatcher:
    def __init__(
        self, services: RoomServices, publish: Publish, metrics: Metrics | None = None
    ) -> None:
        self.services = services
        self.publish = publish
        self.metrics = metrics if metrics is not None else Metrics()
        self._turns = asyncio.Semaphore(RUNNING_AT_ONCE)
        # A connection lives on this process alone, so its flood limit is counted here:
        # through Redis it was a round trip per command, an eighth of a vote's cost.
        self._flood = MemoryRateLimiter()

    async def run(self, command: Command, connection: Connection, data: Any) -> Ack:
        feature = command.name.split(".")[0]
        started = time.perf_counter()
        try:
            async with self._turns:
                await self._flood_check(connection)
                payload = self._parse(command, feature, data)
                answer = ok(await self._execute(command, feature, connection, payload))
        except SidestageError as error:
            answer = failed(error)
        except Exception as error:
            answer = failed(self._unexpected(command, error))
        outcome = "ok" if answer["ok"] else answer["error"]["code"]
        self.metrics.command_answered(command.name, outcome, time.perf_counter() - started)
        return answer

    def _unexpected(self, command: Command, error: Exception) -> SidestageError:
        """A database or Redis out of reach is an outage to retry after; anything else a bug,
        logged with its trace. Called in ``run``'s handler, where the trace is still at hand."""
        service = unreachable(error)
        if service is None:
            log.exception("command %s failed", command.name)
            return SidestageError("server.error", "Something went wrong on our side.")
        self.metrics.unreachable(service)
        log.warning("command %s failed: %s unreachable (%r)", command.name, service, error)
        return unavailable(service)

    def _parse(self, command: Command, feature: str, data: Any) -> Any:
        if not isinstance(data, dict):
            raise InvalidInput(f"{feature}.invalid", "The payload must be an object.")
        if find_nul(data) is not None:
            raise InvalidInput(f"{feature}.invalid", "Text may not contain NUL characters.")
        try:
            return command.payload.model_validate(data)
        except ValidationError as error:
            first = error.errors(include_url=False, include_input=False)[0]
            field = ".".join(str(part) for part in first["loc"]) or "(payload)"
            raise InvalidInput(f"{feature}.invalid", f"{field}: {first['msg']}") from None

    async def _flood_check(self, connection: Connection) -> None:
        wait = await self._flood.hit(connection.sid, *FLOOD)
        if wait is not None:
            raise RateLimited(
                "server.rate_limited", "Too many commands; slow down.", retry_after=wait
            )

    async def _execute(
        self, command: Command, feature: str, connection: Connection, payload: Any
    ) -> dict[str, Any]:
        outbox = Outbox()
        try:
            async with transaction_if_used(self.services.db) as db:
                epoch = await self._epoch(db, command, payload)  # before any row is read
                account, principal = await _who(db, connection, epoch)
                room = await self._room(db, command, feature, payload, epoch)
                session = None if room is None else room.session
                _authorize(command, feature, principal, room, connection)
                context = Context(
                    db, account, principal, session, connection, outbox, self.services, room
                )
                result = await command.handler(context, payload)
                await feed.record(db, outbox)  # numbered in the transaction that caused them
        except BaseException:
            for undo in outbox.on_rollback:
                await undo()
            raise
        # A mute set here counts on every process once acknowledged.
        await self.services.epochs.settled()
        for step in outbox.after_commit:
            await step()
        await self.publish(outbox)
        return result

    async def _epoch(self, db: AsyncSession, command: Command, payload: Any) -> Epoch:
        """The epoch; for a command naming its room, that room's too, in the same read: a
        command reading the room's snapshot (``room.enter``) then makes one round trip to
        Redis for both instead of two, and the others' one read costs what it did."""
        epochs = self.services.epochs
        session_id = getattr(payload, "session_id", None) if command.room is by_session_id else None
        if not isinstance(session_id, int):
            return await epochs.current()
        epoch, room_epoch = await epochs.current_and_room(session_id)
        epochs.read_for_room(db, session_id, room_epoch)
        return epoch

    async def _room(
        self, db: AsyncSession, command: Command, feature: str, payload: Any, epoch: Epoch
    ) -> RoomConfig | None:
        if command.room is None:
            return None
        session_id = await command.room(db, payload, self.services)
        if session_id is None:
            raise NotFound(f"{feature}.not_found", "There is no such item.")
        try:
            return await self.services.configs.get(db, session_id, epoch)
        except NotFound:
            raise NotFound("room.not_found", "There is no such room.") from None


async def _who(db: AsyncSession, connection: Connection, epoch: Epoch) -> tuple[Account, Principal]:
    """The account and its grants, read again only when the epoch moved on."""
    copy = connection.identity
    if copy is not None and copy.good(epoch):
        return copy.value
    account = await db.get(Account, connection.account_id)
    if account is None or account.banned_at is not None:
        raise Unauthenticated("auth.banned", "This account may no longer take part.")
    connection.identity = await load_identity(db, account, epoch)
    return connection.identity.value


async def load_identity(db: AsyncSession, account: Account, epoch: Epoch) -> Identity:
    """The account with its grants, as a copy to keep on the connection."""
    principal = await load_principal(db, account)
    # Kept out of this database session: a rollback there must not expire the copy.
    for row in (account, *principal.grants):
        db.expunge(row)
    return Copy((account, principal), epoch)


def _authorize(
    command: Command,
    feature: str,
    principal: Principal,
    room: RoomConfig | None,
    connection: Connection,
) -> None:
    if command.permission == Permission.SIGNED_IN or room is None:
        return
    session = room.session
    if command.permission == Permission.MODERATOR:
        if not principal.moderates(session):
            raise Forbidden(f"{feature}.forbidden", "Only this room's moderators may do this.")
        return
    try:
        check_session_access(principal, session)
    except (Forbidden, Unauthenticated) as refusal:
        raise Forbidden(f"{feature}.forbidden", refusal.message) from None
    if principal.moderates(session):
        return
    if connection.account_id in room.removed:
        raise Forbidden("room.removed", "A moderator removed you from this room.")
    if command.needs_entry and session.id not in connection.rooms:
        raise Forbidden("room.not_entered", "Enter the room first (room.enter).")
