"""The program as iCalendar, for calendar apps: whole program, one session, one agenda."""

from __future__ import annotations

from collections.abc import Sequence

from icalendar import Calendar, Event

import sidestage
from sidestage.platform.db import utcnow
from sidestage.platform.program.models import Conference, Session


def calendar(
    conference: Conference, sessions: Sequence[Session], base_url: str, name: str
) -> bytes:
    cal = Calendar()
    cal.add("prodid", f"-//Sidestage//{sidestage.__version__}//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", conference.time_zone)
    stamp = utcnow()
    for session in sessions:
        cal.add_component(_event(session, base_url, stamp))
    return cal.to_ical()


def _event(session: Session, base_url: str, stamp: object) -> Event:
    url = f"{base_url.rstrip('/')}/sessions/{session.id}"
    event = Event()
    event.add("uid", f"{session.guid}@sidestage")
    event.add("dtstamp", stamp)
    event.add("dtstart", session.starts_at)
    event.add("dtend", session.ends_at)
    event.add("summary", session.title)
    event.add("description", "\n\n".join(filter(None, [session.abstract, url])))
    event.add("url", url)
    if session.room is not None:
        event.add("location", session.room.name)
    categories = [str(session.kind)] + ([session.track.name] if session.track else [])
    event.add("categories", categories)
    return event
