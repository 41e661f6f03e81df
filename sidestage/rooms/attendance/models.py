from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from sidestage.platform.db import Base, UTCDateTime, utcnow


class AttendanceInterval(Base):
    """One stay of one person in one room. Open while ``ended_at`` is empty; a heartbeat
    moves ``last_seen_at`` so a sweeper can close stays a crashed process left open."""

    __tablename__ = "attendance_intervals"
    __table_args__ = (Index("ix_attendance_open", "session_id", "account_id", "ended_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL")
    )  # the partner whose invite brought them, if any
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
