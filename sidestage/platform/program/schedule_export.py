"""Write the program as schedule JSON (the c3voc schema that pretalx and frab follow)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

import sidestage
from sidestage.platform.program.models import Conference, Day, Organization, Room, Session, Track
from sidestage.platform.program.schedule_import import normalize_slug

SCHEMA_URL = "https://c3voc.de/schedule/schema.json"
REFERENCE_TYPES = {"slides", "paper", "web", "blog", "article", "media", "related", "activitypub"}


def export_schedule(
    conference: Conference,
    sessions: Sequence[Session],
    rooms: Sequence[Room],
    tracks: Sequence[Track],
    base_url: str,
    shows_stream: Callable[[Session], bool],
) -> dict[str, Any]:
    zone = ZoneInfo(conference.time_zone)
    base = base_url.rstrip("/") + "/"
    body = {
        "acronym": conference.acronym,
        "title": conference.title,
        "start": conference.start_date.isoformat(),
        "end": conference.end_date.isoformat(),
        "daysCount": len(conference.days),
        "timeslot_duration": _hhmm(timedelta(minutes=conference.timeslot_minutes)),
        "time_zone_name": conference.time_zone,
        "url": base,
        "tracks": [_track(track) for track in tracks],
        "rooms": [_room(room) for room in sorted(rooms, key=lambda r: r.position)],
        "meta": {"sidestage": _meta(conference, sessions, rooms, tracks, shows_stream)},
        "days": [
            _day(day, sessions, rooms, zone, base, conference.base_url or base)
            for day in conference.days
        ],
    }
    return {
        "$schema": SCHEMA_URL,
        "generator": {"name": "sidestage", "version": sidestage.__version__},
        "schedule": {
            "version": conference.source_version or conference.updated_at.isoformat(),
            "base_url": base,
            "conference": body,
        },
    }


def _hhmm(length: timedelta) -> str:
    minutes = int(length.total_seconds() // 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _track(track: Track) -> dict[str, Any]:
    exported: dict[str, Any] = {"name": track.name, "slug": track.slug}
    if track.color:
        exported["color"] = track.color
    return exported


def _room(room: Room) -> dict[str, Any]:
    exported: dict[str, Any] = {"name": room.name, "guid": room.guid, "capacity": room.capacity}
    if room.type:
        exported["type"] = room.type
    return exported


def _day(
    day: Day,
    sessions: Sequence[Session],
    rooms: Sequence[Room],
    zone: ZoneInfo,
    base: str,
    source_base: str,
) -> dict[str, Any]:
    by_room: dict[str, list[dict[str, Any]]] = {}
    for room in sorted(rooms, key=lambda r: r.position):
        here = [s for s in sessions if s.day_id == day.id and s.room_id == room.id]
        events = [_event(s, zone, base, source_base) for s in here]
        if events:
            by_room[room.name] = events
    return {
        "index": day.index,
        "date": day.date.isoformat(),
        "day_start": day.day_start.astimezone(zone).isoformat(),
        "day_end": day.day_end.astimezone(zone).isoformat(),
        "rooms": by_room,
    }


def _event(session: Session, zone: ZoneInfo, base: str, source_base: str) -> dict[str, Any]:
    local_start = session.starts_at.astimezone(zone)
    return {
        "guid": session.guid,
        "id": session.source_id or session.id,
        "date": local_start.isoformat(),
        "start": local_start.strftime("%H:%M"),
        "end": session.ends_at.astimezone(zone).isoformat(),
        "duration": _hhmm(session.ends_at - session.starts_at),
        "room": session.room.name if session.room else "",
        "slug": _event_slug(session),
        "url": session.url or f"{base}sessions/{session.id}",
        "title": session.title,
        "subtitle": session.subtitle or "",
        "track": session.track.name if session.track else None,
        "type": session.type or str(session.kind),
        "language": session.languages[0] if session.languages else None,
        "abstract": session.abstract,
        "description": session.description,
        "do_not_record": session.do_not_record,
        "persons": [_person(link.person) for link in session.speakers],
        "links": _references(session.extra.get("links"), source_base),
        "attachments": _references(session.extra.get("attachments"), source_base),
    }


def _event_slug(session: Session) -> str:
    return normalize_slug(session.slug or "") or f"session-{session.id}"


def _person(person: Any) -> dict[str, Any]:
    exported: dict[str, Any] = {"guid": person.guid, "name": person.name}
    if person.biography:
        exported["biography"] = person.biography
    if person.code and person.code.isalnum() and person.code.isupper():
        exported["code"] = person.code
    return exported


def _references(items: Any, source_base: str) -> list[dict[str, Any]]:
    """Links and attachments as the schema allows them: absolute url, title, known type.

    Source files may give URLs relative to their own ``base_url``; resolve them against it.
    """
    kept = []
    for item in items or []:
        if not isinstance(item, dict) or not isinstance(item.get("url"), str):
            continue
        url = urljoin(source_base, item["url"])
        if not urlsplit(url).scheme:
            continue
        reference = {"url": url}
        if isinstance(item.get("title"), str):
            reference["title"] = item["title"]
        if item.get("type") in REFERENCE_TYPES:
            reference["type"] = item["type"]
        kept.append(reference)
    return kept


def _meta(
    conference: Conference,
    sessions: Sequence[Session],
    rooms: Sequence[Room],
    tracks: Sequence[Track],
    shows_stream: Callable[[Session], bool],
) -> dict[str, Any]:
    hosts: dict[int, Organization] = {s.host.id: s.host for s in sessions if s.host is not None}
    return {
        "languages": conference.languages,
        "title_translations": conference.title_translations,
        "room_translations": {r.name: r.name_translations for r in rooms if r.name_translations},
        "track_translations": {t.name: t.name_translations for t in tracks if t.name_translations},
        "organizations": [_organization(org) for org in hosts.values()],
        "sessions": {s.guid: _session_meta(s, shows_stream(s)) for s in sessions},
    }


def _organization(org: Organization) -> dict[str, Any]:
    return {
        "slug": org.slug,
        "name": org.name,
        "name_translations": org.name_translations,
        "url": org.url,
    }


def _session_meta(session: Session, stream: bool) -> dict[str, Any]:
    return {
        "kind": session.kind,
        "visibility": session.visibility,
        "capacity": session.capacity,
        "host": session.host.slug if session.host else None,
        "stream_url": session.stream_url if stream else None,
        "languages": session.languages,
        "interpretation_languages": session.interpretation_languages,
        "caption_languages": session.caption_languages,
        "title_translations": session.title_translations,
        "abstract_translations": session.abstract_translations,
    }
