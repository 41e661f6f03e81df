"""Importing and exporting the program in the pretalx/frab schedule JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from jsonschema import Draft6Validator
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sidestage.platform.db import transaction
from sidestage.platform.errors import InvalidInput
from sidestage.platform.models import Day, Person, Room, Session, SessionPerson, Track
from sidestage.platform.program import service as program
from sidestage.platform.program.schedule_format import parse_schedule
from sidestage.platform.program.schedule_import import import_schedule
from tests.conftest import SCHEDULES, schedule_bytes

Factory = async_sessionmaker[AsyncSession]

# Counted independently from the files: distinct days, rooms, events, people, tracks, languages.
EXPECTED = {
    "frab-camp2019.json": {
        "days": 5,
        "rooms": 2,
        "sessions": 79,
        "people": 90,
        "tracks": 7,
        "languages": {"en", "de"},
    },
    "pretalx-democon.json": {
        "days": 3,
        "rooms": 2,
        "sessions": 36,
        "people": 27,
        "tracks": 2,
        "languages": {"en"},
    },
}


async def _import(factory: Factory, raw: bytes | dict[str, Any], **options: Any) -> Any:
    schedule = parse_schedule(raw)
    async with transaction(factory) as db:
        return await import_schedule(db, schedule, **options)


async def _count(factory: Factory, model: type) -> int:
    async with factory() as db:
        return int(await db.scalar(select(func.count()).select_from(model)) or 0)


async def _program_snapshot(factory: Factory) -> list[tuple[Any, ...]]:
    """Everything a session is, as comparable tuples, in a stable order."""
    async with factory() as db:
        conference = await program.get_conference(db)
        sessions = await program.list_sessions(db, conference.id)
        return sorted(
            (
                s.guid,
                s.title,
                s.starts_at,
                s.ends_at,
                s.room.name if s.room else None,
                s.track.name if s.track else None,
                tuple(s.languages),
                s.kind,
                s.visibility,
                s.host.slug if s.host else None,
                s.abstract,
                s.description,
                tuple(sorted(s.title_translations.items())),
                tuple((link.person.guid, link.person.name) for link in s.speakers),
            )
            for s in sessions
        )


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_real_files_import_completely(db: Factory, name: str) -> None:
    summary = await _import(db, schedule_bytes(name))
    expected = EXPECTED[name]
    assert summary.sessions_created == expected["sessions"]
    assert await _count(db, Session) == expected["sessions"]
    assert await _count(db, Day) == expected["days"]
    assert await _count(db, Room) == expected["rooms"]
    assert await _count(db, Person) == expected["people"]
    assert await _count(db, Track) == expected["tracks"]
    async with db() as session:
        languages = set()
        for row in await session.scalars(select(Session.languages)):
            languages.update(row)
    assert languages == expected["languages"]
    source = json.loads(schedule_bytes(name))["schedule"]["conference"]
    links = sum(len(e["persons"]) for d in source["days"] for r in d["rooms"].values() for e in r)
    assert await _count(db, SessionPerson) == links


async def test_times_are_stored_in_utc(db: Factory) -> None:
    await _import(db, schedule_bytes("frab-camp2019.json"))
    async with db() as session:
        opening = await session.scalar(
            select(Session).where(Session.guid == "a0a0fcfe-b7fb-46e3-84b6-97a5406016b4")
        )
    assert opening is not None
    # "2019-08-21T11:00:00+02:00", 30 minutes
    assert opening.starts_at == datetime(2019, 8, 21, 9, 0, tzinfo=UTC)
    assert opening.ends_at == datetime(2019, 8, 21, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_reimport_updates_in_place(db: Factory, name: str) -> None:
    await _import(db, schedule_bytes(name))
    before = await _program_snapshot(db)
    summary = await _import(db, schedule_bytes(name))
    assert (summary.sessions_created, summary.sessions_updated) == (0, EXPECTED[name]["sessions"])
    assert await _count(db, Session) == EXPECTED[name]["sessions"]
    assert await _count(db, Person) == EXPECTED[name]["people"]
    assert await _program_snapshot(db) == before


async def test_reimport_applies_changes_by_guid(db: Factory) -> None:
    document = json.loads(schedule_bytes("pretalx-democon.json"))
    await _import(db, document)
    event = document["schedule"]["conference"]["days"][0]["rooms"]["Gray Room"][0]
    event["title"] = "Renamed talk"
    event["date"] = "2020-12-14T09:30:00+01:00"
    await _import(db, document)
    async with db() as session:
        found = (await session.scalars(select(Session).where(Session.guid == event["guid"]))).all()
    assert [(s.title, s.starts_at) for s in found] == [
        ("Renamed talk", datetime(2020, 12, 14, 8, 30, tzinfo=UTC))
    ]


async def test_sessions_missing_from_file_are_kept_unless_pruned(db: Factory) -> None:
    document = json.loads(schedule_bytes("pretalx-democon.json"))
    await _import(db, document)
    removed = document["schedule"]["conference"]["days"][0]["rooms"]["Gray Room"].pop(0)
    kept = await _import(db, document)
    assert kept.not_in_file == [removed["guid"]] and await _count(db, Session) == 36
    pruned = await _import(db, document, prune=True)
    assert pruned.removed == 1 and await _count(db, Session) == 35
    document["schedule"]["conference"]["days"].pop()
    await _import(db, document, prune=True)
    assert await _count(db, Day) == 2


def _schema_errors(document: dict[str, Any]) -> list[str]:
    schema = json.loads((SCHEDULES / "c3voc-schema.json").read_text())
    validator = Draft6Validator(schema, format_checker=Draft6Validator.FORMAT_CHECKER)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


async def _export(factory: Factory) -> dict[str, Any]:
    async with factory() as db:
        conference = await program.get_conference(db)
        return await program.export_program(
            db, conference, "https://sidestage.example.org", shows_stream=lambda _: True
        )


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_export_validates_and_round_trips(db: Factory, name: str, tmp_path: Any) -> None:
    await _import(db, schedule_bytes(name))
    first = await _program_snapshot(db)
    exported = await _export(db)
    assert _schema_errors(exported) == []
    # Import the export into an empty database: the same program comes out.
    from sidestage.migrations import upgrade_async
    from sidestage.platform.db import create_engine, session_factory

    url = f"sqlite+aiosqlite:///{tmp_path / 'second.db'}"
    await upgrade_async(url)
    engine = create_engine(url)
    try:
        second_db = session_factory(engine)
        await _import(second_db, exported)
        assert await _program_snapshot(second_db) == first
        assert _schema_errors(await _export(second_db)) == []
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    ("mutate", "place"),
    [
        (
            lambda c: c["days"][1]["rooms"]["Tan Room"][1].update(start="25:00"),
            'days[1].rooms["Tan Room"][1].start',
        ),
        (
            lambda c: c["days"][1]["rooms"]["Tan Room"][1].update(date="2020-12-15T10:00:00"),
            'days[1].rooms["Tan Room"][1].date',
        ),
        (
            lambda c: c["days"][0]["rooms"]["Gray Room"][2].pop("guid"),
            'days[0].rooms["Gray Room"][2].guid',
        ),
        (
            lambda c: c["days"][2]["rooms"]["Gray Room"][0].update(duration="half an hour"),
            'days[2].rooms["Gray Room"][0].duration',
        ),
        (
            lambda c: c["days"][0]["rooms"]["Gray Room"][0].update(duration="00:00"),
            'days[0].rooms["Gray Room"][0].duration',
        ),
        (lambda c: c.update(time_zone_name="Mars/Olympus"), "time_zone_name"),
        (lambda c: c["days"][1].pop("date"), "days[1].date"),
        (
            lambda c: c["days"][0]["rooms"]["Gray Room"][3].update(
                guid=c["days"][0]["rooms"]["Gray Room"][0]["guid"]
            ),
            'days[0].rooms["Gray Room"][3].guid',
        ),
        (
            lambda c: c.update(meta={"sidestage": {"sessions": {"x": {"visibility": "secret"}}}}),
            "meta.sidestage.sessions.x.visibility",
        ),
        (
            lambda c: c.update(
                meta={"sidestage": {"sessions": {"x": {"stream_url": "javascript:x"}}}}
            ),
            "meta.sidestage.sessions.x.stream_url",
        ),
        (
            lambda c: c["days"][0]["rooms"]["Gray Room"][0].update(title="Nul\x00byte"),
            'days[0].rooms["Gray Room"][0].title',
        ),
    ],
)
async def test_broken_file_names_the_place_and_writes_nothing(
    db: Factory, mutate: Any, place: str
) -> None:
    document = json.loads(schedule_bytes("pretalx-democon.json"))
    mutate(document["schedule"]["conference"])
    with pytest.raises(InvalidInput) as caught:
        await _import(db, document)
    assert caught.value.code == "program.invalid_file"
    assert caught.value.details["place"] == place, caught.value.message
    assert caught.value.message.startswith(place)
    assert await _count(db, Session) == 0
    assert await _count(db, Day) == 0


@pytest.mark.parametrize("raw", [b"", b"{", b"[]", b'{"schedule": 3}', b"\xff\xfe", b'"text"'])
def test_not_a_schedule_is_refused(raw: bytes) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_schedule(raw)
    assert caught.value.code == "program.invalid_file"


async def test_half_done_import_leaves_nothing(db: Factory) -> None:
    """A duplicate guid found late in the file aborts the import after rows were flushed."""
    document = json.loads(schedule_bytes("frab-camp2019.json"))
    days = document["schedule"]["conference"]["days"]
    last_room = list(days[-1]["rooms"].values())[-1]
    last_room.append(dict(days[0]["rooms"]["Curie"][0]))
    with pytest.raises(InvalidInput):
        await _import(db, document)
    assert await _count(db, Session) == 0
    assert await _count(db, Person) == 0
