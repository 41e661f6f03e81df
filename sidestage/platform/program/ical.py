"""The program as iCalendar, for calendar apps: whole program, one session, one agenda,
with titles, abstracts, places and tracks in the reader's language where the program has
them (``language``), and the originals otherwise."""

from __future__ import annotations

from collections.abc import Sequence

from icalendar import Calendar, Event

import sidestage
from sidestage.platform.db import utcnow
from sidestage.platform.program.models import Conference, Session


def calendar(
    conference: Conference,
    sessions: Sequence[Session],
    base_url: str,
    name: str,
    language: str | None = None,
) -> bytes:
    cal = Calendar()
    cal.add("prodid", f"-//Sidestage//{sidestage.__version__}//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", conference.time_zone)
    stamp = utcnow()
    for session in sessions:
        cal.add_component(_event(session, base_url, stamp, language))
    return cal.to_ical()


def _add_text(
    event: Event, name: str, language: str | None, original: str, translations: dict[str, str]
) -> None:
    """The property in ``language`` (marked with RFC 5545's LANGUAGE) if translated."""
    translated = (translations or {}).get(language) if language else None
    if language and translated:
        event.add(name, translated, parameters={"LANGUAGE": language})
    elif original:
        event.add(name, original)


def _event(session: Session, base_url: str, stamp: object, language: str | None) -> Event:
    url = f"{base_url.rstrip('/')}/sessions/{session.id}"
    event = Event()
    event.add("uid", f"{session.guid}@sidestage")
    event.add("dtstamp", stamp)
    event.add("dtstart", session.starts_at)
    event.add("dtend", session.ends_at)
    _add_text(event, "summary", language, session.title, session.title_translations)
    abstracts = {code: f"{text}\n\n{url}" for code, text in session.abstract_translations.items()}
    original = "\n\n".join(filter(None, [session.abstract, url]))
    _add_text(event, "description", language, original, abstracts)
    event.add("url", url)
    if session.room is not None:
        _add_text(event, "location", language, session.room.name, session.room.name_translations)
    track = session.track
    named = [(track.name_translations or {}).get(language or "") or track.name] if track else []
    categories = [str(session.kind), *named]
    event.add("categories", categories)
    return event
