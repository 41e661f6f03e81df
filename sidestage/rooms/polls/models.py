from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from sidestage.platform.db import Base, UTCDateTime, utcnow


class PollStatus(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


class ResultsShown(enum.StrEnum):
    LIVE = "live"  # everyone sees the tallies as votes come in
    AFTER_VOTE = "after_vote"  # a participant sees them once they voted
    AFTER_CLOSE = "after_close"  # participants see them when the poll closes


class Poll(Base):
    __tablename__ = "polls"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    question: Mapped[str] = mapped_column(String(500))
    options: Mapped[list[str]] = mapped_column(JSON)
    multiple: Mapped[bool] = mapped_column(Boolean, default=False)
    anonymous: Mapped[bool] = mapped_column(Boolean, default=True)
    # Only accounts that signed in may vote, not guests: a guest costs nothing to make, so
    # an open poll can be stuffed through many of them.
    signed_in_only: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    results_shown: Mapped[str] = mapped_column(String(20), default=ResultsShown.LIVE)
    status: Mapped[str] = mapped_column(String(10), default=PollStatus.DRAFT)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Moved on by every vote, in the vote's transaction (by the batch's votes in this poll,
    # rooms/polls/ballots.py): a tally read with it says how fresh it is, so a client
    # keeps the newest when tallies arrive out of order.
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class PollBallot(Base):
    """One per person and poll: the primary key is what makes 'one vote per person' true."""

    __tablename__ = "poll_ballots"

    poll_id: Mapped[int] = mapped_column(
        ForeignKey("polls.id", ondelete="CASCADE"), primary_key=True
    )
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PollChoice(Base):
    __tablename__ = "poll_choices"

    poll_id: Mapped[int] = mapped_column(
        ForeignKey("polls.id", ondelete="CASCADE"), primary_key=True
    )
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    option: Mapped[int] = mapped_column(Integer, primary_key=True)
