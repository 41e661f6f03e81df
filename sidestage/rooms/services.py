"""The process-wide things a live-room handler may need, given to it in its context."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sidestage.platform.ratelimit import RateLimiter
from sidestage.rooms.events import Audience
from sidestage.rooms.presence import Presence


class Transport(Protocol):
    """What rooms ask of the transport, without knowing it is Socket.IO."""

    async def join(self, connection_id: str, audience: Audience) -> None: ...

    async def leave(self, connection_id: str, audience: Audience) -> None: ...

    async def remove_user(self, account_id: int, session_id: int) -> None:
        """Take every connection of a person out of a room, on every process."""
        ...


@dataclass
class RoomServices:
    db: async_sessionmaker[AsyncSession]
    presence: Presence
    limiter: RateLimiter
    transport: Transport
    process_id: str
