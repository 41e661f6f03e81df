"""Reading and changing the program: the conference, its sessions, bookmarks."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from sidestage.platform.db import ByDialect
from sidestage.platform.errors import Conflict, InvalidInput, NotFound
from sidestage.platform.program.models import (
    Bookmark,
    Conference,
    Day,
    Organization,
    Room,
    Session,
    SessionKind,
    SessionPerson,
    Track,
    Visibility,
)
from sidestage.platform.program.schedule_export import export_schedule
from sidestage.platform.program.schedule_format import ScheduleIn
from sidestage.platform.program.schedule_import import (
    ImportSummary,
    import_schedule,
    normalize_acronym,
)
from sidestage.platform.program.sidestage_meta import LANGUAGE_TAG
from sidestage.platform.text import is_web_url

_SESSION_DETAILS = (
    selectinload(Session.room),
    selectinload(Session.track),
    selectinload(Session.host),
    selectinload(Session.day),
    selectinload(Session.speakers).selectinload(SessionPerson.person),
)


async def find_conference(db: AsyncSession, acronym: str | None = None) -> Conference | None:
    """The named conference, or else the first one: a deployment serves one conference."""
    query = select(Conference).options(selectinload(Conference.days))
    if acronym:
        query = query.where(Conference.acronym == acronym)
    return await db.scalar(query.order_by(Conference.id).limit(1))


async def get_conference(db: AsyncSession, acronym: str | None = None) -> Conference:
    conference = await find_conference(db, acronym)
    if conference is None:
        raise NotFound("program.no_conference", "No program has been imported yet.")
    return conference


async def list_sessions(db: AsyncSession, conference_id: int) -> Sequence[Session]:
    query = select(Session).where(Session.conference_id == conference_id)
    query = query.options(*_SESSION_DETAILS).order_by(Session.starts_at, Session.room_id)
    return (await db.scalars(query)).all()


async def get_session(db: AsyncSession, session_id: int) -> Session:
    session = await db.scalar(
        select(Session)
        .where(Session.id == session_id)
        .options(*_SESSION_DETAILS)
        .execution_options(populate_existing=True)
    )
    if session is None:
        raise NotFound("program.session_not_found", "There is no such session.")
    return session


async def get_room_session(db: AsyncSession, session_id: int) -> Session:
    """The session as a live room's commands need it (its columns and its room), in one
    statement: the speakers, track, host and day ``get_session`` adds cost six more, on
    every command."""
    session = await db.scalar(
        select(Session)
        .where(Session.id == session_id)
        .options(joinedload(Session.room))
        .execution_options(populate_existing=True)
    )
    if session is None:
        raise NotFound("program.session_not_found", "There is no such session.")
    return session


def day_to_show(conference: Conference, asked: str | None, now: datetime) -> Day | None:
    """The day asked for (by id), else today's in the conference's zone, else the first."""
    if not conference.days:
        return None
    by_id = {str(day.id): day for day in conference.days}
    if asked in by_id:
        return by_id[asked]
    today = now.astimezone(ZoneInfo(conference.time_zone)).date()
    return next((d for d in conference.days if d.date == today), conference.days[0])


async def sessions_around(
    db: AsyncSession, conference_id: int, now: datetime, *, live_only: bool = True
) -> tuple[list[Session], list[Session]]:
    """The sessions running now and, per room, the next one to start (the marathon board)."""
    sessions = await list_sessions(db, conference_id)
    if live_only:
        sessions = [s for s in sessions if s.live]
    running = [s for s in sessions if s.starts_at <= now < s.ends_at]
    next_by_room: dict[int | None, Session] = {}
    for session in sessions:
        if session.starts_at > now and session.room_id not in next_by_room:
            next_by_room[session.room_id] = session
    upcoming = sorted(next_by_room.values(), key=lambda s: (s.starts_at, s.room_id or 0))
    return running, upcoming


async def list_organizations(db: AsyncSession) -> Sequence[Organization]:
    return (await db.scalars(select(Organization).order_by(Organization.name))).all()


async def get_organization(db: AsyncSession, organization_id: int) -> Organization:
    organization = await db.get(Organization, organization_id)
    if organization is None:
        raise NotFound("program.organization_not_found", "There is no such organization.")
    return organization


async def find_day(db: AsyncSession, conference_id: int, day_id: int) -> Day | None:
    day = await db.get(Day, day_id)
    return day if day is not None and day.conference_id == conference_id else None


async def bookmark(db: AsyncSession, account_id: int, session_id: int) -> None:
    """Put a session on a person's agenda; doing it twice changes nothing."""
    await get_session(db, session_id)
    await db.execute(_BOOKMARK(db), {"account_id": account_id, "session_id": session_id})


_BOOKMARK = ByDialect(lambda insert: insert(Bookmark).on_conflict_do_nothing())


async def unbookmark(db: AsyncSession, account_id: int, session_id: int) -> None:
    await db.execute(
        delete(Bookmark).where(Bookmark.account_id == account_id, Bookmark.session_id == session_id)
    )


async def bookmarked_ids(db: AsyncSession, account_id: int) -> set[int]:
    rows = await db.scalars(select(Bookmark.session_id).where(Bookmark.account_id == account_id))
    return set(rows)


async def agenda(db: AsyncSession, account_id: int) -> Sequence[Session]:
    query = (
        select(Session)
        .join(Bookmark, Bookmark.session_id == Session.id)
        .where(Bookmark.account_id == account_id)
        .options(*_SESSION_DETAILS)
        .order_by(Session.starts_at)
    )
    return (await db.scalars(query)).all()


async def export_program(
    db: AsyncSession,
    conference: Conference,
    base_url: str,
    *,
    shows_stream: Callable[[Session], bool],
) -> dict[str, Any]:
    """The program as schedule JSON; a session's stream address only where ``shows_stream``
    says the reader may enter it."""
    sessions = await list_sessions(db, conference.id)
    rooms = (await db.scalars(select(Room).where(Room.conference_id == conference.id))).all()
    tracks = (await db.scalars(select(Track).where(Track.conference_id == conference.id))).all()
    return export_schedule(conference, sessions, rooms, tracks, base_url, shows_stream)


async def list_rooms(db: AsyncSession, conference_id: int) -> Sequence[Room]:
    query = select(Room).where(Room.conference_id == conference_id).order_by(Room.position)
    return (await db.scalars(query)).all()


async def list_tracks(db: AsyncSession, conference_id: int) -> Sequence[Track]:
    query = select(Track).where(Track.conference_id == conference_id).order_by(Track.name)
    return (await db.scalars(query)).all()


@dataclass(frozen=True)
class SessionSettings:
    """What an organizer sets on a session beyond what schedule files carry."""

    kind: SessionKind
    visibility: Visibility
    host_organization_id: int | None
    capacity: int | None
    stream_url: str | None


async def update_session_settings(
    db: AsyncSession, session_id: int, settings: SessionSettings
) -> Session:
    """Change a session's settings; the caller has checked that an organizer asks."""
    session = await get_session(db, session_id)
    if settings.host_organization_id is not None:
        await get_organization(db, settings.host_organization_id)
    if settings.stream_url and not is_web_url(settings.stream_url):
        raise InvalidInput("program.bad_stream_url", "The stream address must start with https://.")
    if settings.capacity is not None and not 1 <= settings.capacity <= 1_000_000:
        raise InvalidInput("program.bad_capacity", "Capacity is a number from 1 to 1,000,000.")
    session.kind = settings.kind
    session.visibility = settings.visibility
    session.host_organization_id = settings.host_organization_id
    session.capacity = settings.capacity
    session.stream_url = settings.stream_url or None
    await db.flush()
    return await get_session(db, session_id)


@dataclass(frozen=True)
class SessionLanguages:
    """Spoken on the floor, offered as interpretation channels, offered as captions."""

    floor: list[str]
    interpretation: list[str]
    captions: list[str]


LANGUAGES_AT_MOST = 12


async def update_session_languages(
    db: AsyncSession, session_id: int, languages: SessionLanguages
) -> Session:
    """Set a session's languages; the caller has checked that an organizer or its host asks."""
    session = await get_session(db, session_id)
    for chosen in (languages.floor, languages.interpretation, languages.captions):
        if len(chosen) > LANGUAGES_AT_MOST:
            raise InvalidInput("program.bad_language", "At most 12 languages of each kind.")
        if any(not re.fullmatch(LANGUAGE_TAG, code) for code in chosen):
            raise InvalidInput("program.bad_language", "Choose languages from the list.")
    session.languages = list(dict.fromkeys(languages.floor))
    session.interpretation_languages = list(dict.fromkeys(languages.interpretation))
    session.caption_languages = list(dict.fromkeys(languages.captions))
    await db.flush()
    return session


async def import_into_served(
    db: AsyncSession, schedule: ScheduleIn, served: str | None, *, prune: bool
) -> ImportSummary:
    """Import into the conference this deployment serves, or create it from the file.

    A file of another conference is refused: merged in, it would rename the running one,
    move it to the file's time zone and put the file's days and sessions among its own.
    The acronym names a conference (pretalx and frab keep it for its whole life), so the
    title may change from one import to the next."""
    into = await find_conference(db, served)
    expected = into.acronym if into else normalize_acronym(served) if served else None
    if expected is not None and normalize_acronym(schedule.conference.acronym) != expected:
        raise other_conference(schedule, expected, into)
    return await import_schedule(db, schedule, into=into, prune=prune)


def other_conference(schedule: ScheduleIn, expected: str, served: Conference | None) -> Conflict:
    return Conflict(
        "program.other_conference",
        "This file holds the program of another conference, so nothing was imported. "
        "Import a file of the conference this site runs.",
        details={
            "file": {"acronym": schedule.conference.acronym, "title": schedule.conference.title},
            "served": {"acronym": expected, "title": served.title if served else None},
        },
    )
