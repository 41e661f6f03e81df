"""The pretalx/frab schedule JSON as it comes in, validated with pydantic.

Parsing is lenient where real exporters differ (frab persons have ``public_name``,
pretalx persons ``name``; ``end`` may be absent) and strict where the program
would be wrong (times without an offset, unknown time zones). Every error names
its place in the file, e.g. ``days[1].rooms["Tan Room"][3].start``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from sidestage.platform.errors import InvalidInput
from sidestage.platform.text import find_nul

DURATION = re.compile(r"^(\d{1,3}):([0-5]\d)(?::([0-5]\d))?$")
START = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class PersonIn(_Lenient):
    guid: str | None = None
    id: int | None = None
    code: str | None = None
    name: str | None = None
    public_name: str | None = None
    biography: str | None = None

    @property
    def display_name(self) -> str:
        return self.name or self.public_name or ""


class EventIn(_Lenient):
    guid: str = Field(min_length=1, max_length=36)
    id: int | None = None
    code: str | None = None
    date: AwareDatetime
    start: str | None = None
    duration: str
    end: AwareDatetime | None = None
    room: str = Field(min_length=1, max_length=200)
    slug: str | None = None
    url: str | None = None
    title: str = Field(min_length=1, max_length=500)
    subtitle: str | None = None
    track: str | None = None
    type: str | None = None
    language: str | None = None
    abstract: str | None = None
    description: str | None = None
    do_not_record: bool | None = None
    persons: list[PersonIn] = []
    links: list[dict[str, Any]] = []
    attachments: list[dict[str, Any]] = []

    @field_validator("duration")
    @classmethod
    def _duration_form(cls, value: str) -> str:
        if not DURATION.match(value):
            raise ValueError("duration must be HH:MM")
        return value

    @field_validator("start")
    @classmethod
    def _start_form(cls, value: str | None) -> str | None:
        if value is not None and not START.match(value):
            raise ValueError("start must be HH:MM")
        return value

    @property
    def length(self) -> timedelta:
        match = DURATION.match(self.duration)
        assert match is not None  # checked by the validator
        hours, minutes, seconds = (int(part or 0) for part in match.groups())
        return timedelta(hours=hours, minutes=minutes, seconds=seconds)

    @property
    def ends(self) -> datetime:
        return self.end if self.end is not None else self.date + self.length


class DayIn(_Lenient):
    index: int
    date: date
    day_start: AwareDatetime
    day_end: AwareDatetime
    rooms: dict[str, list[EventIn]]


class RoomIn(_Lenient):
    name: str = Field(min_length=1, max_length=200)
    guid: str | None = None
    type: str | None = None
    capacity: int | None = None


class TrackIn(_Lenient):
    name: str = Field(min_length=1, max_length=200)
    slug: str | None = None
    color: str | None = None


class ConferenceIn(_Lenient):
    acronym: str = Field(min_length=1, max_length=100)
    title: str = Field(min_length=1, max_length=300)
    start: date | datetime
    end: date | datetime
    time_zone_name: str = "UTC"
    timeslot_duration: str = "00:15"
    rooms: list[RoomIn] = []
    tracks: list[TrackIn] = []
    days: list[DayIn]
    meta: dict[str, Any] = {}

    @field_validator("time_zone_name")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r}") from error
        return value


class ScheduleIn(_Lenient):
    version: str | None = None
    base_url: str | None = None
    conference: ConferenceIn


class ScheduleFile(_Lenient):
    schedule: ScheduleIn


def parse_schedule(raw: bytes | str | dict[str, Any]) -> ScheduleIn:
    """Parse and validate a schedule document; raise ``program.invalid_file`` naming the place."""
    document = raw if isinstance(raw, dict) else _load_json(raw)
    nul = find_nul(document)
    if nul is not None:
        raise invalid_at(nul, "text may not contain NUL characters")
    try:
        schedule = ScheduleFile.model_validate(document).schedule
    except ValidationError as error:
        first = error.errors()[0]
        raise invalid_at(first["loc"], first["msg"].removeprefix("Value error, ")) from None
    _check_event_times(schedule.conference)
    return schedule


def invalid_at(location: Sequence[str | int], message: str) -> InvalidInput:
    place = format_location(location)
    return InvalidInput(
        "program.invalid_file", f"{place}: {message}", details={"place": place, "reason": message}
    )


def format_location(location: Sequence[str | int]) -> str:
    parts = list(location)
    if parts[:2] == ["schedule", "conference"]:
        parts = parts[2:]
    text = ""
    for position, part in enumerate(parts):
        if isinstance(part, int):
            text += f"[{part}]"
        elif position > 0 and parts[position - 1] == "rooms" and _inside_day(parts, position):
            text += f"[{json.dumps(part, ensure_ascii=False)}]"
        else:
            text += f".{part}" if text else part
    return text or "(top level)"


def _inside_day(parts: list[str | int], position: int) -> bool:
    return position >= 3 and parts[position - 3] == "days"


def _load_json(raw: bytes | str) -> Any:
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        raise InvalidInput("program.invalid_file", "the file is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise InvalidInput(
            "program.invalid_file",
            f"not JSON: {error.msg} at line {error.lineno}, column {error.colno}",
            details={"place": f"line {error.lineno}, column {error.colno}", "reason": error.msg},
        ) from None


def _check_event_times(conference: ConferenceIn) -> None:
    for day_index, day in enumerate(conference.days):
        for room, events in day.rooms.items():
            for event_index, event in enumerate(events):
                if event.ends <= event.date:
                    place: list[str | int] = [
                        "days",
                        day_index,
                        "rooms",
                        room,
                        event_index,
                        "duration",
                    ]
                    raise invalid_at(place, "the session must end after it starts")
