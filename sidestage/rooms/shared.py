"""The process-wide things a live-room handler may need, given to it in its context."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sidestage.platform.epochs import Epochs
from sidestage.platform.ratelimit import RateLimiter
from sidestage.rooms.events import Audience
from sidestage.rooms.presence import Presence

if TYPE_CHECKING:  # they import the features, which import this module
    from sidestage.rooms.attendance.stays import Stays
    from sidestage.rooms.feed.service import Numbered
    from sidestage.rooms.polls.ballots import Ballots
    from sidestage.rooms.room.config import RoomConfigs
    from sidestage.rooms.room.snapshot import RoomSnapshots


class Transport(Protocol):
    """What rooms ask of the transport, without knowing it is Socket.IO."""

    async def join(self, connection_id: str, audience: Audience) -> None: ...

    async def leave(self, connection_id: str, audience: Audience) -> None: ...

    async def admit(self, connection_id: str, session_id: int, seq: int) -> None:
        """Join the room's audience after its event numbered ``seq``: every later room
        event reaches the connection once, none before it."""
        ...

    def delivered_after(self, session_id: int, seq: int) -> list[Numbered] | None:
        """The room's events after ``seq`` this process has delivered, if it still keeps
        them all in memory (else None)."""
        ...

    async def remove_user(self, account_id: int, session_id: int) -> None:
        """Take every connection of a person out of a room, on every process."""
        ...


class StageMedia(Protocol):
    """The media plane the stage signals to (``sidestage.realtime.media``). ``owner`` is the
    signalling connection: what it opened ends with it. Refusals raise ``SidestageError``s."""

    async def publish(
        self,
        session_id: int,
        account_id: int,
        source: str,
        owner: str,
        offer: str,
        language: str | None = None,
    ) -> tuple[str, str]:
        """Answer a speaker's offer, or an interpreter's for ``language``: (publication
        id, answer SDP)."""
        ...

    async def take_over(self, session_id: int, publication_id: str, owner: str) -> None:
        """An interpreter standing by goes on air in their language."""
        ...

    async def listen(
        self, session_id: int, watch_id: str, owner: str, channel_id: str | None
    ) -> None:
        """A watch's sound from now on: an interpretation channel, or (None) the floor."""
        ...

    async def unpublish(self, session_id: int, publication_id: str, owner: str) -> None: ...

    async def watch(
        self, session_id: int, publication_id: str, owner: str, audio_only: bool
    ) -> tuple[str, str]:
        """Offer a publication to a viewer: (watch id, offer SDP)."""
        ...

    async def answer(self, session_id: int, watch_id: str, owner: str, answer: str) -> None: ...

    async def leave(self, session_id: int, watch_id: str, owner: str) -> None: ...

    async def drop_account(self, session_id: int, account_id: int) -> None:
        """End what a person publishes in a room (taken off the stage)."""
        ...

    async def publications(self, session_id: int) -> list[dict[str, Any]]: ...

    async def recording(self, session_id: int) -> bool: ...


@dataclass
class RoomServices:
    db: async_sessionmaker[AsyncSession]
    presence: Presence
    limiter: RateLimiter
    transport: Transport
    process_id: str
    stage: StageMedia
    epochs: Epochs
    configs: RoomConfigs
    snapshots: RoomSnapshots
    stays: Stays
    ballots: Ballots
    # Poll -> the room it was last seen open in: where a vote looks first (polls/service.py).
    poll_rooms: dict[int, int] = field(default_factory=dict)
