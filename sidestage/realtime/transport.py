"""The rooms' Transport over Socket.IO, and a control channel between processes.

Socket.IO's Redis manager carries events to clients on every process. Removing a
person from a room needs each process to act on its own connections of that
person, so that goes over a small Redis pub/sub channel of our own (or straight
to this process on the embedded default).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import socketio
from redis.asyncio import Redis

from sidestage.rooms.commands import Connection
from sidestage.rooms.events import Audience
from sidestage.rooms.feed.service import Numbered

if TYPE_CHECKING:
    from sidestage.realtime.room_feed import RoomFeed

log = logging.getLogger("sidestage.realtime")
CONTROL_CHANNEL = "sidestage:control"
OnRemove = Callable[[int, int], Awaitable[None]]


class SocketTransport:
    def __init__(self, sio: socketio.AsyncServer, redis: Redis | None) -> None:
        self.sio = sio
        self.redis = redis
        self.connections: dict[str, Connection] = {}
        self.on_remove: OnRemove | None = None
        self.feed: RoomFeed | None = None

    async def admit(self, connection_id: str, session_id: int, seq: int) -> None:
        assert self.feed is not None
        if connection_id in self.connections:
            await self.feed.admit(connection_id, session_id, seq)

    def delivered_after(self, session_id: int, seq: int) -> list[Numbered] | None:
        assert self.feed is not None
        return self.feed.delivered_after(session_id, seq)

    async def join(self, connection_id: str, audience: Audience) -> None:
        if connection_id in self.connections:
            await self.sio.enter_room(connection_id, audience.channel)

    async def leave(self, connection_id: str, audience: Audience) -> None:
        if connection_id in self.connections:
            await self.sio.leave_room(connection_id, audience.channel)

    async def remove_user(self, account_id: int, session_id: int) -> None:
        if self.redis is None:
            await self._remove_here(account_id, session_id)
            return
        message = json.dumps({"kind": "remove", "account_id": account_id, "session_id": session_id})
        await self.redis.publish(CONTROL_CHANNEL, message)

    async def _remove_here(self, account_id: int, session_id: int) -> None:
        if self.on_remove is not None:
            await self.on_remove(account_id, session_id)

    def local(self, account_id: int) -> list[Connection]:
        return [c for c in self.connections.values() if c.account_id == account_id]

    @asynccontextmanager
    async def listening(self) -> AsyncIterator[None]:
        """Follow the control channel while the app runs (only with Redis)."""
        if self.redis is None:
            yield
            return
        pubsub = self.redis.pubsub()
        await pubsub.subscribe(CONTROL_CHANNEL)
        task = asyncio.create_task(self._listen(pubsub))
        try:
            yield
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await pubsub.aclose()

    async def _listen(self, pubsub: object) -> None:
        async for message in pubsub.listen():  # type: ignore[attr-defined]
            if message.get("type") != "message":
                continue
            try:
                body = json.loads(message["data"])
                if body.get("kind") == "remove":
                    await self._remove_here(int(body["account_id"]), int(body["session_id"]))
            except Exception:
                log.exception("bad control message")
