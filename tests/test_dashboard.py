"""The host console's figures and the organizers' attendance dashboard, on real databases.

Stays are written with known times, so every figure on the pages can be checked exactly.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sidestage.platform.access.models import Invite, InviteRedemption, Role
from sidestage.platform.accounts.models import Account
from sidestage.platform.db import transaction
from sidestage.platform.demo import load_demo
from sidestage.platform.program.models import Day, Organization, Session
from sidestage.rooms.attendance import figures
from sidestage.rooms.attendance.models import AttendanceInterval
from sidestage.rooms.polls.models import Poll
from sidestage.rooms.tools.models import Tool, ToolClick
from sidestage.web import charts
from sidestage.web.i18n import Catalogs
from tests.helpers import bearer, user_with_role

Factory = async_sessionmaker[AsyncSession]
DAY = date(2026, 6, 9)  # the demo's virtual day; its zone is Africa/Casablanca (UTC+1)
ZONE = "Africa/Casablanca"
EN = Catalogs().get("en")


def at(hour: int, minute: int = 0, day: int = 9) -> datetime:
    return datetime(2026, 6, day, hour, minute, tzinfo=UTC)


@dataclass
class World:
    """Two partners' side events on day 1, people, invite links, stays, tools and a poll."""

    day_id: int
    ours: Session  # hosted by our partner on day 1
    ours_later: Session  # hosted by our partner on day 2
    theirs: Session  # another partner's, on day 1
    ours_org: Organization
    poll_id: int
    people: dict[str, int]


async def _world(factory: Factory) -> World:
    async with transaction(factory) as db:
        await load_demo(db, DAY)
        day1 = await db.scalar(select(Day).where(Day.date == DAY))
        ours, ours_later, theirs = await _sessions(db)
        ours_org = await db.get(Organization, ours.host_organization_id)
        assert day1 is not None and ours_org is not None
        people = await _people(db, "Alice", "Bob", "Carol", "Dave")
        await _invites(db, ours, theirs, people)
        _stays(db, ours, ours_later, theirs, people)
        await _tools(db, ours, theirs)
        poll_id = await _polls(db, ours)
    return World(day1.id, ours, ours_later, theirs, ours_org, poll_id, people)


async def _sessions(db: AsyncSession) -> tuple[Session, Session, Session]:
    hosted = list(
        await db.scalars(
            select(Session)
            .where(Session.host_organization_id.is_not(None))
            .order_by(Session.starts_at, Session.id)
        )
    )
    ours = hosted[0]
    later = next(
        s
        for s in hosted
        if s.host_organization_id == ours.host_organization_id and s.starts_at.date() != DAY
    )
    theirs = next(s for s in hosted if s.host_organization_id != ours.host_organization_id)
    assert ours.starts_at == at(10) and later.starts_at == at(10, day=10)
    assert theirs.starts_at.date() == DAY
    return ours, later, theirs


async def _people(db: AsyncSession, *names: str) -> dict[str, int]:
    accounts = [Account(display_name=n, email=f"{n.lower()}@example.org") for n in names]
    db.add_all(accounts)
    await db.flush()
    return {a.display_name: a.id for a in accounts}


async def _invites(
    db: AsyncSession, ours: Session, theirs: Session, people: dict[str, int]
) -> None:
    """Ours: a link for all our sessions (Alice, Bob, Carol) and one for one session (Bob).
    Theirs: a link for all their sessions (Bob)."""
    every = Invite(code="all", organization_id=ours.host_organization_id, label="Whole network")
    one = Invite(
        code="one", organization_id=ours.host_organization_id, session_id=ours.id, label="Panel"
    )
    other = Invite(code="other", organization_id=theirs.host_organization_id, label="Theirs")
    db.add_all([every, one, other])
    await db.flush()
    before = at(9)
    redeemed = [
        (every, "Alice", before),
        (every, "Bob", before),
        (every, "Carol", at(10, 30)),  # after her only stay: it does not count for the link
        (one, "Bob", before),
        (other, "Bob", before),
    ]
    for invite, name, when in redeemed:
        db.add(InviteRedemption(invite_id=invite.id, account_id=people[name], redeemed_at=when))


def _stays(
    db: AsyncSession, ours: Session, later: Session, theirs: Session, people: dict[str, int]
) -> None:
    org = ours.host_organization_id
    rows = [
        (ours, "Alice", at(10), at(10, 30), org),  # 30 min
        (later, "Alice", at(10, day=10), at(10, 45, day=10), org),  # 45 min, the next day
        (ours, "Bob", at(10, 15), at(11, 15), org),  # 60 min
        (theirs, "Bob", at(10, 10), at(10, 20), theirs.host_organization_id),  # 10 min, overlaps
        (ours, "Carol", at(10), at(10, 20), None),  # 20 min, before she redeemed
        (ours, "Dave", at(10), at(11), None),  # 60 min, nobody invited him
    ]
    for session, name, start, end, inviter in rows:
        db.add(
            AttendanceInterval(
                session_id=session.id,
                account_id=people[name],
                organization_id=inviter,
                started_at=start,
                last_seen_at=end,
                ended_at=end,
            )
        )


async def _tools(db: AsyncSession, ours: Session, theirs: Session) -> None:
    toolkit = Tool(session_id=ours.id, title="Toolkit", url="https://example.org/kit")
    guide = Tool(session_id=theirs.id, title="Their guide", url="https://example.org/guide")
    db.add_all([toolkit, guide])
    await db.flush()
    db.add_all(
        [
            ToolClick(tool_id=toolkit.id, organization_id=ours.host_organization_id),
            ToolClick(tool_id=toolkit.id, organization_id=ours.host_organization_id),
            ToolClick(tool_id=toolkit.id, organization_id=theirs.host_organization_id),
            ToolClick(tool_id=toolkit.id),
            ToolClick(tool_id=guide.id),
        ]
    )


async def _polls(db: AsyncSession, ours: Session) -> int:
    shown = Poll(session_id=ours.id, question="Which target first?", options=["A"], status="closed")
    draft = Poll(session_id=ours.id, question="Not yet asked?", options=["A", "B"])
    db.add_all([shown, draft])
    await db.flush()
    return shown.id


def _cells(html: str, row_marker: str) -> list[str]:
    """The cells' text of the table row that contains ``row_marker``."""
    row = next(r for r in re.findall(r"<tr.*?</tr>", html, re.S) if row_marker in r)
    return [
        re.sub(r"<[^>]+>", "", c).strip()
        for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)
    ]


# --- the host console ------------------------------------------------------------------------


async def test_host_sees_reach_of_each_invite_and_clicks_of_tools(client: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    world = await _world(db)
    host = await user_with_role(db, client, Role.HOST, organization_id=world.ours_org.id)
    page = await client.get("/host", headers=bearer(host))
    assert page.status == 200
    html = await page.text()
    # Invited, joined (stays after redeeming, in sessions the link opens), minutes.
    assert _cells(html, "Whole network")[3:6] == ["3", "2", "135"]  # Alice 30+45, Bob 60
    assert _cells(html, "Panel")[3:6] == ["1", "1", "60"]
    assert "Alice, Bob, Carol" in _cells(html, "Whole network")[7]
    assert _cells(html, "Toolkit")[2:] == ["4", "2"]  # all clicks, then by our invitees
    assert f'href="/sessions/{world.ours.id}/room"' in html
    assert f'href="/moderate/{world.ours_later.id}"' in html
    assert f'href="/api/sessions/{world.ours.id}/attendance.csv"' in html
    assert f'href="/api/sessions/{world.ours.id}/questions.csv"' in html
    # Only our own organization: not the other partner's link, tool or sessions.
    assert "Theirs" not in html and "Their guide" not in html
    assert f"/moderate/{world.theirs.id}" not in html


async def test_invite_figures_count_open_stays_until_now(db) -> None:  # type: ignore[no-untyped-def]
    world = await _world(db)
    async with transaction(db) as s:
        s.add(
            AttendanceInterval(
                session_id=world.ours.id,
                account_id=world.people["Carol"],
                started_at=at(11),
                last_seen_at=at(11),
            )
        )
    async with db() as s:
        found = await figures.host_figures(s, [world.ours_org.id], now=at(11, 25))
    every = next(r for r in found[world.ours_org.id].invites if r.invite.code == "all")
    assert (every.invited, every.joined, every.minutes) == (3, 3, 160.0)  # Carol: 25 min
    assert [r.invite.code for r in found[world.ours_org.id].invites] == ["one", "all"]


# --- the organizers' dashboard ---------------------------------------------------------------


async def test_day_dashboard_figures_charts_and_csv(client: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    world = await _world(db)
    organizer = bearer(await user_with_role(db, client, Role.ORGANIZER))
    page = await client.get(f"/organizer/attendance?day={world.day_id}", headers=organizer)
    assert page.status == 200
    html = await page.text()
    marker = f'href="/organizer/attendance/{world.ours.id}"'
    # unique, peak, total and median minutes (30, 60, 20, 60)
    assert _cells(html, marker)[2:6] == ["4", "4", "170", "45"]
    theirs = _cells(html, f'href="/organizer/attendance/{world.theirs.id}"')
    assert theirs[2:6] == ["1", "1", "10", "10"]
    # Bob in two rooms at 10:15 counts once: four people at once, from 10:10 UTC.
    peak_time = EN.time(at(10, 10), ZONE)
    assert f"the peak: 4 at {peak_time}." in html
    assert html.count('role="img"') == 2 and html.count('dir="ltr" viewBox') == 2
    assert "<dd>4 (" in html  # the day's attendees and its peak
    assert f'href="/organizer/attendance.csv?day={world.day_id}"' in html
    rows = await _day_csv(client, organizer, world.day_id)
    assert len(rows) == 5  # Alice's stay on day 2 is not in day 1
    dave = next(r for r in rows if r["name"] == "Dave")
    assert dave["session_id"] == str(world.ours.id) and dave["session"] == world.ours.title
    assert (dave["entered"], dave["left"], dave["minutes"]) == (
        at(10).isoformat(),
        at(11).isoformat(),
        "60.0",
    )
    alice = next(r for r in rows if r["name"] == "Alice")
    assert alice["organization"] == world.ours_org.name and alice["email"] == "alice@example.org"


async def _day_csv(
    client: TestClient, headers: dict[str, str], day_id: int
) -> list[dict[str, str]]:
    answer = await client.get(f"/organizer/attendance.csv?day={day_id}", headers=headers)
    assert answer.status == 200 and answer.headers["Content-Type"].startswith("text/csv")
    text = await answer.text(encoding="utf-8-sig")  # the byte order mark Excel needs
    assert text.splitlines()[0] == ",".join(figures.DAY_COLUMNS)
    return list(csv.DictReader(io.StringIO(text)))


async def test_session_dashboard_partners_polls_and_exports(client: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    world = await _world(db)
    organizer = bearer(await user_with_role(db, client, Role.ORGANIZER))
    page = await client.get(f"/organizer/attendance/{world.ours.id}", headers=organizer)
    assert page.status == 200
    html = await page.text()
    assert _cells(html, world.ours_org.name)[1:] == ["2", "90"]  # Alice, Bob
    assert _cells(html, "Not invited by a partner")[1:] == ["2", "80"]  # Carol, Dave
    assert f"the peak: 4 at {EN.time(at(10, 15), ZONE)}." in html
    assert html.count('role="img"') == 2
    assert f'href="/api/polls/{world.poll_id}/results.csv"' in html
    assert "Not yet asked?" not in html  # a draft has no results
    assert f'href="/api/sessions/{world.ours.id}/questions.csv"' in html
    assert f'href="/organizer/attendance?day={world.day_id}"' in html
    api = await (
        await client.get(f"/api/sessions/{world.ours.id}/attendance", headers=organizer)
    ).json()  # the same figures, read by the JSON endpoint
    assert (api["unique_attendees"], api["peak_concurrent"], api["total_minutes"]) == (4, 4, 170)
    assert api["by_organization"][0] == {
        "organization_id": world.ours_org.id,
        "organization": world.ours_org.name,
        "attendees": 2,
        "minutes": 90.0,
    }
    assert api["timeline"][0] == {"at": at(10).isoformat(), "concurrent": 1}


async def test_dashboard_is_for_organizers_only(client: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    world = await _world(db)
    paths = [
        "/organizer/attendance",
        f"/organizer/attendance.csv?day={world.day_id}",
        f"/organizer/attendance/{world.ours.id}",
    ]
    host = bearer(await user_with_role(db, client, Role.HOST, organization_id=world.ours_org.id))
    for path in paths:
        anonymous = await client.get(path, allow_redirects=False)
        assert anonymous.status == 303 and anonymous.headers["Location"].startswith("/login")
        assert (await client.get(path, headers=host)).status == 403
    organizer = bearer(await user_with_role(db, client, Role.ORGANIZER))
    assert (await client.get("/organizer/attendance/999999", headers=organizer)).status == 404
    assert (
        'href="/organizer/attendance"'
        in await (await client.get("/organizer", headers=organizer)).text()
    )


async def test_empty_day_renders_a_flat_timeline(client: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    async with transaction(db) as s:
        await load_demo(s, DAY)
    organizer = bearer(await user_with_role(db, client, Role.ORGANIZER))
    html = await (await client.get("/organizer/attendance?lang=ar", headers=organizer)).text()
    assert 'dir="rtl"' in html and 'dir="ltr" viewBox' in html  # charts still read left to right
    rows = await _day_csv(client, organizer, 0)  # an unknown day: today's or the first
    assert rows == []


# --- chart geometry --------------------------------------------------------------------------


def test_step_chart_marks_the_first_peak() -> None:
    steps = [(at(10), 1), (at(10, 30), 3), (at(11), 2), (at(11, 30), 3), (at(12), 0)]
    chart = charts.step_chart(steps, at(9), at(13), "UTC")
    assert chart.peak is not None
    assert (chart.peak.at, chart.peak.value) == (at(10, 30), 3)
    assert chart.peak.x == charts.PLOT_LEFT + 1.5 / 4 * (charts.PLOT_RIGHT - charts.PLOT_LEFT)
    assert chart.peak.y == charts.PLOT_TOP  # 3 is the top of the scale 0..3
    assert [t.value for t in chart.count_ticks] == [0, 1, 2, 3]
    assert len(chart.windows) == 16 and chart.windows[0].end == at(9, 15)  # quarter hours
    hourly = charts.windows(steps, [at(9), at(10), at(11), at(12), at(13)])
    assert [w.most for w in hourly] == [0, 3, 3, 0]
    assert chart.points.startswith(f"{charts.PLOT_LEFT}.0,{charts.PLOT_BOTTOM}.0")


def test_step_chart_without_data_is_a_flat_line() -> None:
    chart = charts.step_chart([], at(9), at(13), "UTC")
    bottom = float(charts.PLOT_BOTTOM)
    assert chart.peak is None
    assert chart.points == f"{float(charts.PLOT_LEFT)},{bottom} {float(charts.PLOT_RIGHT)},{bottom}"
    assert [t.value for t in chart.count_ticks] == [0, 1]
    assert {w.most for w in chart.windows} == {0}


def test_step_chart_widens_to_stays_outside_the_session() -> None:
    chart = charts.step_chart([(at(8), 1), (at(9, 30), 0)], at(9), at(10), "UTC")
    assert chart.windows[0].start == at(8) and chart.windows[-1].end == at(10)


def test_time_ticks_fall_on_the_local_clock() -> None:
    ticks = charts.time_ticks(at(7), at(19), "Asia/Kolkata", 7)  # UTC+5:30
    assert ticks == [at(8, 30) + timedelta(hours=2 * n) for n in range(6)]  # 14:00 to 00:00 local


def test_maxima_keep_the_highest_count_of_each_stretch() -> None:
    steps = [(at(10), 2), (at(10, 5), 5), (at(10, 6), 1)]
    assert charts.maxima(steps, [at(9), at(10), at(11), at(12)]) == [0, 5, 1]
    assert charts.maxima(steps, [at(10, 30), at(11)]) == [1]  # carried in from before
    leaving = [(at(10), 3), (at(11), 1)]
    assert charts.maxima(leaving, [at(10), at(11), at(12)]) == [3, 1]  # gone as 11:00 begins


@pytest.mark.parametrize(
    ("highest", "ticks"),
    [(0, [0, 1]), (3, [0, 1, 2, 3]), (7, [0, 2, 4, 6, 8]), (180, [0, 50, 100, 150, 200])],
)
def test_count_ticks_are_round(highest: int, ticks: list[int]) -> None:
    assert charts.count_ticks(highest) == ticks


def test_bar_chart_scales_to_the_largest() -> None:
    chart = charts.bar_chart(["a", "bb", ""], len)
    longest = charts.WIDTH - charts.BAR_ORIGIN - charts.BAR_VALUE_ROOM
    assert [bar.length for bar in chart.bars] == [longest / 2, longest, 0]
    assert chart.largest == 2 and chart.height == 3 * charts.BAR_ROW
    assert charts.bar_chart([], len).bars == []


def test_a_person_in_two_rooms_at_once_counts_once() -> None:
    spans = [(at(10), at(11)), (at(10, 30), at(12)), (at(13), at(14))]
    assert figures.merge_spans(spans) == [(at(10), at(12)), (at(13), at(14))]
