"""The demo conference is a schedule file, imported like any other and moved to today."""

from __future__ import annotations

import json
import stat
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from jsonschema import Draft6Validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sidestage.platform.db import transaction
from sidestage.platform.demo import (
    DEMO_FILE,
    DEMO_PASSWORD_FILE,
    ensure_demo_organizer,
    load_demo,
    moved_to,
)
from sidestage.platform.program.models import Session
from tests.conftest import SCHEDULES

Factory = async_sessionmaker[AsyncSession]
ZONE = ZoneInfo("Africa/Casablanca")
# Morocco sets its clocks back to UTC+0 for Ramadan: a day then and a day in June are an
# hour apart in UTC for the same local time.
IN_RAMADAN, IN_JUNE = date(2027, 2, 22), date(2027, 6, 14)


def _document() -> dict:  # type: ignore[type-arg]
    return json.loads(DEMO_FILE.read_text("utf-8"))


def test_the_demo_file_is_a_valid_schedule_with_sidestage_s_fields() -> None:
    document = _document()
    schema = json.loads((SCHEDULES / "c3voc-schema.json").read_text())
    validator = Draft6Validator(schema, format_checker=Draft6Validator.FORMAT_CHECKER)
    assert [error.message for error in validator.iter_errors(document)] == []
    meta = document["schedule"]["conference"]["meta"]["sidestage"]
    assert set(meta["languages"]) == {"ar", "en", "es", "fr"}
    assert all("ar" in s["title_translations"] for s in meta["sessions"].values())


def test_moving_keeps_local_times_and_takes_the_new_day_s_offset() -> None:
    schedule = _document()["schedule"]
    moved_to(schedule, IN_RAMADAN)
    conference = schedule["conference"]
    assert (conference["start"], conference["end"]) == ("2027-02-22", "2027-02-25")
    assert [day["date"] for day in conference["days"]] == [
        "2027-02-22",
        "2027-02-23",
        "2027-02-24",
        "2027-02-25",
    ]
    events = [e for day in conference["days"] for room in day["rooms"].values() for e in room]
    for event in events:
        moment = datetime.fromisoformat(event["date"])
        assert moment.strftime("%H:%M") == event["start"]  # the same local hour
        assert moment.utcoffset() == ZONE.utcoffset(moment.replace(tzinfo=None))


async def test_the_virtual_day_is_the_day_asked_for_at_its_local_times(db: Factory) -> None:
    opening: dict[date, datetime] = {}
    for day in (IN_JUNE, IN_RAMADAN):
        async with transaction(db) as s:
            summary = await load_demo(s, day)
        async with db() as s:
            first = await s.scalar(select(Session).order_by(Session.starts_at).limit(1))
        assert first is not None
        opening[day] = first.starts_at
        local = first.starts_at.replace(tzinfo=UTC).astimezone(ZONE)
        assert local.date() == day and local.time() >= time(8, 0)
    assert summary.sessions_created == 0  # moved in place
    june, ramadan = (opening[d].replace(tzinfo=UTC).astimezone(ZONE) for d in (IN_JUNE, IN_RAMADAN))
    assert june.time() == ramadan.time()  # the same hour in Casablanca...
    assert opening[IN_JUNE].time() != opening[IN_RAMADAN].time()  # ...an hour apart in UTC


async def test_the_organizer_s_password_is_kept_for_its_owner_only(
    db: Factory, tmp_path: Path
) -> None:
    async with transaction(db) as s:
        login = await ensure_demo_organizer(s, tmp_path)
    kept = tmp_path / DEMO_PASSWORD_FILE
    assert kept.read_text() == login.password
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    async with transaction(db) as s:  # the next start finds it and keeps it
        assert (await ensure_demo_organizer(s, tmp_path)).password == login.password
