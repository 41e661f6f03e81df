"""A room's configuration as every command in it needs it, kept between commands.

The session row (with its room), the room's settings, its mutes and its removals change
rarely and are read by nearly every command; each process keeps one copy per room,
good while the epoch it was read under lasts (``platform/epochs.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sidestage.platform.db import utcnow
from sidestage.platform.epochs import Copies, Kept
from sidestage.platform.program.models import Room, Session
from sidestage.platform.program.service import get_room_session
from sidestage.rooms.chat.models import ChatMute
from sidestage.rooms.room.models import RoomRemoval, RoomSettings
from sidestage.rooms.room.service import removed_accounts, settings_of


@dataclass(frozen=True)
class RoomConfig:
    # Detached, with its room, shared by every command in the room: read it, never add it
    # to a database session or hang it on a new row (name it by id). Merging it into each
    # command's session made every flush sort the whole program's mappers.
    session: Session
    slow_mode_seconds: int
    qa_moderated: bool
    removed: frozenset[int]  # accounts removed from the room for good
    mutes: dict[int, datetime]  # account -> muted until

    def muted(self, account_id: int) -> bool:
        until = self.mutes.get(account_id)
        return until is not None and until > utcnow()


RoomConfigs = Copies[int, RoomConfig]  # per session id, read again when the epoch moves
# What a room's configuration is read from: a change to any moves the epoch.
KEPT = (
    Kept(Session, inserts=False),  # a new session is in no copy yet
    Kept(Room, inserts=False),
    Kept(RoomSettings),
    Kept(ChatMute),
    Kept(RoomRemoval),
)


def room_configs() -> RoomConfigs:
    """This process's copies, one per room that had a command here. ``get`` raises
    ``NotFound`` for a session that does not exist (never kept)."""
    return Copies(_read)


async def _read(db: AsyncSession, session_id: int) -> RoomConfig:
    session = await get_room_session(db, session_id)
    # Out of this database session, so nothing done in it (a change, a rollback) reaches
    # the copy other commands will use.
    db.expunge(session)
    if session.room is not None:
        db.expunge(session.room)
    settings = await settings_of(db, session_id)
    removed = await removed_accounts(db, session_id)
    mutes = await db.execute(
        select(ChatMute.account_id, ChatMute.until).where(
            ChatMute.session_id == session_id, ChatMute.until > utcnow()
        )
    )
    return RoomConfig(
        session=session,
        slow_mode_seconds=settings.slow_mode_seconds,
        qa_moderated=settings.qa_moderated,
        removed=frozenset(removed),
        mutes={account_id: until for account_id, until in mutes},
    )
