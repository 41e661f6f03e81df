"""Program tables. Times are UTC; the conference's zone says how to show them."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sidestage.platform.db import Base, UTCDateTime, utcnow


class SessionKind(enum.StrEnum):
    PLENARY = "plenary"
    SIDE_EVENT = "side_event"
    STRATEGIC = "strategic"
    THEMATIC = "thematic"
    INTERACTIVE = "interactive"
    OPEN_SPACE = "open_space"
    MARKETPLACE = "marketplace"
    CLOSING = "closing"


class Visibility(enum.StrEnum):
    PUBLIC = "public"
    REGISTERED = "registered"
    INVITE_ONLY = "invite_only"


class Conference(Base):
    __tablename__ = "conferences"

    id: Mapped[int] = mapped_column(primary_key=True)
    acronym: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    title_translations: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    time_zone: Mapped[str] = mapped_column(String(64))
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    base_url: Mapped[str | None] = mapped_column(String(500))
    timeslot_minutes: Mapped[int] = mapped_column(Integer, default=15)
    source_version: Mapped[str | None] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    days: Mapped[list[Day]] = relationship(
        back_populates="conference", order_by="Day.index", cascade="all, delete-orphan"
    )


class Day(Base):
    __tablename__ = "days"
    __table_args__ = (UniqueConstraint("conference_id", "date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conference_id: Mapped[int] = mapped_column(ForeignKey("conferences.id", ondelete="CASCADE"))
    index: Mapped[int] = mapped_column(Integer)
    date: Mapped[date] = mapped_column(Date)
    day_start: Mapped[datetime] = mapped_column(UTCDateTime)
    day_end: Mapped[datetime] = mapped_column(UTCDateTime)

    conference: Mapped[Conference] = relationship(back_populates="days")


class Room(Base):
    """A place sessions happen in: a hall on site, or an online channel (a live room)."""

    __tablename__ = "rooms"
    __table_args__ = (UniqueConstraint("conference_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conference_id: Mapped[int] = mapped_column(ForeignKey("conferences.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    name_translations: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    guid: Mapped[str] = mapped_column(String(36))
    type: Mapped[str | None] = mapped_column(String(40))
    capacity: Mapped[int | None] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def online(self) -> bool:
        return self.type == "online"


class Track(Base):
    __tablename__ = "tracks"
    __table_args__ = (UniqueConstraint("conference_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conference_id: Mapped[int] = mapped_column(ForeignKey("conferences.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    name_translations: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    slug: Mapped[str] = mapped_column(String(200))
    color: Mapped[str | None] = mapped_column(String(20))


class Organization(Base):
    """A partner: hosts side events and invites its network."""

    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    name_translations: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    url: Mapped[str | None] = mapped_column(String(500))


class Person(Base):
    """A speaker as the program shows them; may be linked to an account."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    guid: Mapped[str] = mapped_column(String(36), unique=True)
    code: Mapped[str | None] = mapped_column(String(40))
    source_id: Mapped[int | None] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(300))
    biography: Mapped[str | None] = mapped_column(Text)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))


class Session(Base):
    __tablename__ = "sessions"
    __table_args__ = (UniqueConstraint("conference_id", "guid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conference_id: Mapped[int] = mapped_column(ForeignKey("conferences.id", ondelete="CASCADE"))
    day_id: Mapped[int] = mapped_column(ForeignKey("days.id", ondelete="CASCADE"))
    room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id", ondelete="SET NULL"))
    track_id: Mapped[int | None] = mapped_column(ForeignKey("tracks.id", ondelete="SET NULL"))
    host_organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL")
    )
    guid: Mapped[str] = mapped_column(String(36))
    source_id: Mapped[int | None] = mapped_column(Integer)
    code: Mapped[str | None] = mapped_column(String(40))
    slug: Mapped[str | None] = mapped_column(String(300))
    url: Mapped[str | None] = mapped_column(String(500))
    title: Mapped[str] = mapped_column(String(500))
    title_translations: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    subtitle: Mapped[str | None] = mapped_column(String(500))
    abstract: Mapped[str | None] = mapped_column(Text)
    abstract_translations: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    description: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20), default=SessionKind.THEMATIC)
    type: Mapped[str | None] = mapped_column(String(100))
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)  # the floor's
    # Offered to participants: simultaneous interpretation channels and live captions.
    interpretation_languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    caption_languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    visibility: Mapped[str] = mapped_column(String(20), default=Visibility.PUBLIC)
    capacity: Mapped[int | None] = mapped_column(Integer)
    stream_url: Mapped[str | None] = mapped_column(String(500))
    do_not_record: Mapped[bool] = mapped_column(Boolean, default=False)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    day: Mapped[Day] = relationship()
    room: Mapped[Room | None] = relationship()
    track: Mapped[Track | None] = relationship()
    host: Mapped[Organization | None] = relationship()
    speakers: Mapped[list[SessionPerson]] = relationship(
        order_by="SessionPerson.position", cascade="all, delete-orphan"
    )

    @property
    def followable_in(self) -> list[str]:
        """Every language one can follow the session in: spoken, interpreted or captioned."""
        return list(
            dict.fromkeys(
                [*self.languages, *self.interpretation_languages, *self.caption_languages]
            )
        )

    @property
    def live(self) -> bool:
        """Sessions in an online room are live rooms; the others happen on site."""
        return self.room is not None and self.room.online


class SessionPerson(Base):
    __tablename__ = "session_people"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)

    person: Mapped[Person] = relationship(lazy="joined")


class Bookmark(Base):
    """A session a person put on their own agenda."""

    __tablename__ = "bookmarks"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
