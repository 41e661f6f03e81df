from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from sidestage.platform.db import Base, UTCDateTime, utcnow


class RoomSettings(Base):
    """Moderators' switches for one session's room; absent means the defaults."""

    __tablename__ = "room_settings"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True
    )
    slow_mode_seconds: Mapped[int] = mapped_column(Integer, default=0)
    qa_moderated: Mapped[bool] = mapped_column(Boolean, default=False)


class RoomRemoval(Base):
    """A participant a moderator removed from the room; they cannot come back in."""

    __tablename__ = "room_removals"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True
    )
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    removed_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    removed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
