"""A room's numbered events, kept for a while so that anyone who missed some can catch up."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from sidestage.platform.db import Base, UTCDateTime, utcnow


class RoomSequence(Base):
    """The last number given to an event of one session's room.

    Every transaction that records a room event moves this row, so two commits in the
    same room take turns on it and their numbers follow their commit order: once number
    N is visible, every number below it is visible too."""

    __tablename__ = "room_sequences"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, default=0)


class RoomEvent(Base):
    """One event as it was broadcast to the room, under its number."""

    __tablename__ = "room_events"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, object]] = mapped_column(JSON)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
