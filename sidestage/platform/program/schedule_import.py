"""Merge a schedule document into the database, in place, keyed by guid.

The caller owns the transaction: an error anywhere leaves nothing written.
Sessions that exist here but not in the file are kept unless ``prune`` is set,
because a partial file must not silently wipe rooms that have chat and attendance.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from sidestage.platform.program.models import (
    Conference,
    Day,
    Organization,
    Person,
    Room,
    Session,
    SessionKind,
    SessionPerson,
    Track,
)
from sidestage.platform.program.schedule_format import (
    ConferenceIn,
    DayIn,
    EventIn,
    PersonIn,
    ScheduleIn,
    invalid_at,
)
from sidestage.platform.program.sidestage_meta import SessionMeta, SidestageMeta, parse_meta

# Namespace for guids Sidestage derives (rooms without one, frab persons with only an id).
GUID_NAMESPACE = uuid.UUID("6f4f4a52-5b0e-4c1e-9d0b-2a6c5d0e9a11")

KIND_BY_TYPE = {
    "workshop": SessionKind.INTERACTIVE,
    "hands_on": SessionKind.INTERACTIVE,
    "discussion": SessionKind.INTERACTIVE,
    "meeting": SessionKind.STRATEGIC,
    "keynote": SessionKind.PLENARY,
    "opening": SessionKind.PLENARY,
}


@dataclass
class ImportSummary:
    conference_id: int = 0
    acronym: str = ""
    days: int = 0
    rooms: int = 0
    tracks: int = 0
    sessions_created: int = 0
    sessions_updated: int = 0
    people: int = 0
    organizations: int = 0
    not_in_file: list[str] = field(default_factory=list)
    removed: int = 0

    @property
    def sessions(self) -> int:
        return self.sessions_created + self.sessions_updated


def normalize_acronym(raw: str) -> str:
    """Lower-case letters, digits and underscores: the form the schema's pattern accepts."""
    return re.sub(r"[^a-z0-9_]+", "_", raw.strip().lower()).strip("_") or "conference"


def normalize_slug(raw: str) -> str:
    return re.sub(r"[^a-z0-9_-]+", "-", raw.strip().lower()).strip("-_")


def derived_guid(*parts: object) -> str:
    return str(uuid.uuid5(GUID_NAMESPACE, ":".join(str(part) for part in parts)))


async def import_schedule(
    db: AsyncSession, schedule: ScheduleIn, *, into: Conference | None = None, prune: bool = False
) -> ImportSummary:
    meta = parse_meta(schedule.conference.meta)
    conference = await _upsert_conference(db, schedule, meta, into)
    merger = _Merger(db, conference, meta)
    await merger.load()
    summary = await merger.merge(schedule.conference)
    await merger.handle_absent(summary, schedule.conference, prune=prune)
    return summary


async def _upsert_conference(
    db: AsyncSession, schedule: ScheduleIn, meta: SidestageMeta, into: Conference | None
) -> Conference:
    source = schedule.conference
    acronym = normalize_acronym(source.acronym)
    conference = into or await db.scalar(select(Conference).where(Conference.acronym == acronym))
    if conference is None:
        conference = Conference(acronym=acronym)
        db.add(conference)
    conference.title = source.title
    conference.title_translations = meta.title_translations or conference.title_translations or {}
    conference.time_zone = source.time_zone_name
    conference.start_date = _as_date(source.start)
    conference.end_date = _as_date(source.end)
    conference.base_url = schedule.base_url
    conference.source_version = schedule.version
    conference.timeslot_minutes = _minutes(source.timeslot_duration)
    conference.languages = meta.languages or conference.languages or _languages_of(source)
    await db.flush()
    return conference


def _as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def _minutes(duration: str) -> int:
    match = re.match(r"^(\d+):(\d{2})", duration)
    return int(match.group(1)) * 60 + int(match.group(2)) if match else 15


def _languages_of(source: ConferenceIn) -> list[str]:
    found: list[str] = []
    for day in source.days:
        for events in day.rooms.values():
            for event in events:
                found += [code for code in split_languages(event.language) if code not in found]
    return found


def split_languages(raw: str | None) -> list[str]:
    return [part.lower() for part in re.split(r"[\s,;/]+", raw or "") if part]


def kind_for(event_type: str | None) -> SessionKind:
    key = re.sub(r"[\s-]+", "_", (event_type or "").strip().lower())
    if key in SessionKind._value2member_map_:
        return SessionKind(key)
    return KIND_BY_TYPE.get(key, SessionKind.THEMATIC)


class _Merger:
    """Holds what the conference already has, so each entity is matched once, not queried."""

    def __init__(self, db: AsyncSession, conference: Conference, meta: SidestageMeta) -> None:
        self.db = db
        self.conference = conference
        self.meta = meta
        self.days: dict[date, Day] = {}
        self.rooms: dict[str, Room] = {}
        self.tracks: dict[str, Track] = {}
        self.sessions: dict[str, Session] = {}
        self.people: dict[str, Person] = {}
        self.organizations: dict[str, Organization] = {}
        self.seen_sessions: set[str] = set()
        self.seen_people: set[str] = set()

    async def load(self) -> None:
        cid = self.conference.id
        self.days = {d.date: d for d in await self._all(Day, Day.conference_id == cid)}
        self.rooms = {r.name: r for r in await self._all(Room, Room.conference_id == cid)}
        self.tracks = {t.name: t for t in await self._all(Track, Track.conference_id == cid)}
        self.sessions = {s.guid: s for s in await self._all(Session, Session.conference_id == cid)}
        self.organizations = {o.slug: o for o in await self._all(Organization)}

    async def _all(self, model: type, *where: object) -> list:  # type: ignore[type-arg]
        return list(await self.db.scalars(select(model).where(*where)))  # type: ignore[arg-type]

    async def merge(self, source: ConferenceIn) -> ImportSummary:
        summary = ImportSummary(conference_id=self.conference.id, acronym=self.conference.acronym)
        summary.organizations = self._merge_organizations()
        self._merge_declared_rooms_and_tracks(source)
        for day_in in source.days:
            await self._merge_day(day_in, source, summary)
        summary.days = len(source.days)
        summary.rooms = len(self.rooms)
        summary.tracks = len(self.tracks)
        summary.people = len(self.seen_people)
        return summary

    def _merge_organizations(self) -> int:
        for org_in in self.meta.organizations:
            org = self.organizations.get(org_in.slug)
            if org is None:
                org = self.organizations[org_in.slug] = Organization(slug=org_in.slug)
                self.db.add(org)
            org.name = org_in.name
            org.name_translations = org_in.name_translations
            org.url = org_in.url
        return len(self.meta.organizations)

    def _merge_declared_rooms_and_tracks(self, source: ConferenceIn) -> None:
        for position, room_in in enumerate(source.rooms):
            room = self._room(room_in.name, position)
            room.type = room_in.type
            room.capacity = room_in.capacity
            if room_in.guid and room_in.guid not in {r.guid for r in self.rooms.values()}:
                room.guid = room_in.guid
        for track_in in source.tracks:
            track = self._track(track_in.name)
            track.color = track_in.color or track.color
            track.slug = normalize_slug(track_in.slug or track_in.name) or track.slug

    def _room(self, name: str, position: int | None = None) -> Room:
        room = self.rooms.get(name)
        if room is None:
            guid = derived_guid(self.conference.acronym, "room", name)
            room = Room(conference_id=self.conference.id, name=name, guid=guid)
            room.position = len(self.rooms) if position is None else position
            self.rooms[name] = room
            self.db.add(room)
        elif position is not None:
            room.position = position
        room.name_translations = self.meta.room_translations.get(name, room.name_translations)
        return room

    def _track(self, name: str) -> Track:
        track = self.tracks.get(name)
        if track is None:
            slug = normalize_slug(name) or derived_guid(name)[:8]
            track = Track(conference_id=self.conference.id, name=name, slug=slug)
            self.tracks[name] = track
            self.db.add(track)
        track.name_translations = self.meta.track_translations.get(name, track.name_translations)
        return track

    async def _merge_day(self, day_in: DayIn, source: ConferenceIn, summary: ImportSummary) -> None:
        day = self.days.get(day_in.date)
        if day is None:
            day = self.days[day_in.date] = Day(conference_id=self.conference.id, date=day_in.date)
            self.db.add(day)
        day.index = day_in.index
        day.day_start = day_in.day_start.astimezone(UTC)
        day.day_end = day_in.day_end.astimezone(UTC)
        await self.db.flush()
        day_number = source.days.index(day_in)
        for room_name, events in day_in.rooms.items():
            room = self._room(room_name)
            for event_number, event in enumerate(events):
                place: list[str | int] = ["days", day_number, "rooms", room_name, event_number]
                await self._merge_event(event, day, room, place, summary)

    async def _merge_event(
        self, event: EventIn, day: Day, room: Room, place: list[str | int], summary: ImportSummary
    ) -> None:
        if event.guid in self.seen_sessions:
            raise invalid_at([*place, "guid"], f"guid {event.guid} appears twice in the file")
        self.seen_sessions.add(event.guid)
        session = self.sessions.get(event.guid)
        if session is None:
            session = Session(conference_id=self.conference.id, guid=event.guid)
            self.sessions[event.guid] = session
            self.db.add(session)
            summary.sessions_created += 1
        else:
            summary.sessions_updated += 1
        self._fill_session(session, event, day, room)
        await self.db.flush()
        await self._set_speakers(session, event.persons)

    def _fill_session(self, session: Session, event: EventIn, day: Day, room: Room) -> None:
        extra = self.meta.sessions.get(event.guid, SessionMeta())
        # Relationships, not ids: rooms and tracks made by this import have no id until a flush.
        session.day, session.room = day, room
        session.track = self._track(event.track) if event.track else None
        session.source_id, session.code = event.id, event.code
        session.slug = normalize_slug(event.slug) if event.slug else None
        session.url, session.title, session.subtitle = event.url, event.title, event.subtitle
        session.abstract, session.description = event.abstract, event.description
        session.type = event.type
        session.kind = extra.kind or kind_for(event.type)
        session.languages = extra.languages or split_languages(event.language)
        session.interpretation_languages = list(dict.fromkeys(extra.interpretation_languages))
        session.caption_languages = list(dict.fromkeys(extra.caption_languages))
        session.starts_at = event.date.astimezone(UTC)
        session.ends_at = event.ends.astimezone(UTC)
        session.do_not_record = bool(event.do_not_record)
        session.visibility = extra.visibility
        session.capacity = extra.capacity
        session.stream_url = extra.stream_url
        session.title_translations = extra.title_translations
        session.abstract_translations = extra.abstract_translations
        session.host = self.organizations[extra.host] if extra.host else None
        session.extra = {"links": event.links, "attachments": event.attachments}

    async def _set_speakers(self, session: Session, persons: list[PersonIn]) -> None:
        await self.db.execute(delete(SessionPerson).where(SessionPerson.session_id == session.id))
        linked: set[int] = set()
        for position, person_in in enumerate(persons):
            person = await self._person(person_in)
            if person.id not in linked:
                linked.add(person.id)
                self.db.add(
                    SessionPerson(session_id=session.id, person_id=person.id, position=position)
                )

    async def _person(self, person_in: PersonIn) -> Person:
        guid = self._person_guid(person_in)
        person = self.people.get(guid) or await self.db.scalar(
            select(Person).where(Person.guid == guid)
        )
        if person is None:
            person = Person(guid=guid)
            self.db.add(person)
        self.people[guid] = person
        self.seen_people.add(guid)
        person.name = person_in.display_name or person.name or "?"
        person.code = person_in.code or person.code
        person.source_id = person_in.id if person_in.id is not None else person.source_id
        if person_in.biography is not None:
            person.biography = person_in.biography
        await self.db.flush()
        return person

    def _person_guid(self, person_in: PersonIn) -> str:
        if person_in.guid:
            return person_in.guid
        acronym = self.conference.acronym
        if person_in.code:
            return derived_guid(acronym, "person-code", person_in.code)
        if person_in.id is not None:
            return derived_guid(acronym, "person-id", person_in.id)
        return derived_guid(acronym, "person-name", person_in.display_name)

    async def handle_absent(
        self, summary: ImportSummary, source: ConferenceIn, *, prune: bool
    ) -> None:
        absent = [s for guid, s in self.sessions.items() if guid not in self.seen_sessions]
        summary.not_in_file = sorted(s.guid for s in absent)
        if prune:
            for session in absent:
                await self.db.delete(session)
            summary.removed = len(absent)
            dates = {day.date for day in source.days}
            for day in [d for d in self.days.values() if d.date not in dates]:
                await self.db.delete(day)
        await self.db.flush()
