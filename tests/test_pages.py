"""Server-rendered pages, used as a browser without JavaScript would."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from sidestage.platform.access.models import Invite, Role
from sidestage.platform.accounts.models import Account
from sidestage.platform.db import transaction
from sidestage.platform.program.models import Session
from sidestage.platform.program.schedule_format import parse_schedule
from sidestage.platform.program.schedule_import import import_schedule
from tests.conftest import schedule_bytes
from tests.helpers import PASSWORD, csrf_from, load_demo_program, registered_token

PAGES = ["/", "/program", "/marathon", "/login", "/register", "/guest", "/settings"]


async def _session_at_1300_cest(db) -> int:  # type: ignore[no-untyped-def]
    """A one-session program on 9 June 2026, 13:00 in Geneva (CEST, UTC+2)."""
    document = json.loads(schedule_bytes("pretalx-democon.json"))
    conference = document["schedule"]["conference"]
    conference.update(time_zone_name="Europe/Zurich", start="2026-06-09", end="2026-06-09")
    event = conference["days"][0]["rooms"]["Gray Room"][0]
    event.update(date="2026-06-09T13:00:00+02:00", start="13:00", duration="01:00")
    conference["days"] = [
        {
            **conference["days"][0],
            "date": "2026-06-09",
            "day_start": "2026-06-09T08:00:00+02:00",
            "day_end": "2026-06-09T20:00:00+02:00",
            "rooms": {"Gray Room": [event]},
        }
    ]
    async with transaction(db) as s:
        await import_schedule(s, parse_schedule(document))
        session = await s.scalar(select(Session))
        assert session is not None
        assert session.starts_at == datetime(2026, 6, 9, 11, 0, tzinfo=UTC)
        return session.id


SCRIPT_TAG = r'<script type="(module" src="/static/\w+/[\w/.]+\.js|application/json" id="[\w-]+)">'


async def test_pages_render_for_everyone(client: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    await load_demo_program(db)
    for path in PAGES:
        response = await client.get(path)
        assert response.status == 200, path
        html = await response.text()
        assert '<html lang="en" dir="ltr">' in html
        # Scripts come from /static/ only, or are JSON data blocks: nothing inline runs.
        for tag in re.findall(r"<script[^>]*>", html):
            assert re.fullmatch(SCRIPT_TAG, tag), tag


async def test_program_shows_parallel_sessions_and_filters(client: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    await load_demo_program(db)
    async with db() as s:
        first_day = await s.scalar(select(Session.day_id).order_by(Session.starts_at).limit(1))
    html = await (await client.get(f"/program?day={first_day}")).text()
    slots = re.findall(r'<section class="slot".*?</section>', html, re.S)
    assert max(s.count('class="card') for s in slots) == 3  # three side rooms in parallel
    assert html.count('class="card') == 16  # the dialogue and 15 side events
    arabic = await (await client.get(f"/program?day={first_day}&language=ar")).text()
    assert 0 < arabic.count('class="card') < 16
    kind = await (await client.get(f"/program?day={first_day}&kind=plenary")).text()
    assert kind.count('class="card') == 1


async def test_arabic_pages_are_right_to_left(client: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    await load_demo_program(db)
    response = await client.get("/program?lang=ar")
    html = await response.text()
    assert '<html lang="ar" dir="rtl">' in html
    assert "البرنامج" in html  # the navigation is translated
    assert response.cookies["sidestage_lang"].value == "ar"
    follow = await client.get("/marathon")  # the cookie keeps the language
    assert '<html lang="ar" dir="rtl">' in await follow.text()
    by_header = await client.get(
        "/login",
        headers={"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"},
        cookies={"sidestage_lang": ""},
    )
    assert '<html lang="es" dir="ltr">' in await by_header.text()


async def test_times_in_conference_and_your_zones(client: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    session_id = await _session_at_1300_cest(db)
    html = await (await client.get(f"/sessions/{session_id}?lang=fr&tz=Africa/Nairobi")).text()
    assert '<time datetime="2026-06-09T13:00+02:00">13:00</time>' in html
    assert '<time datetime="2026-06-09T14:00+03:00" data-zone="Africa/Nairobi">14:00</time>' in html
    api = await (await client.get(f"/api/sessions/{session_id}")).json()
    assert api["starts_at"].startswith("2026-06-09T11:00:00")


async def test_form_without_csrf_token_is_refused(client: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    await client.get("/guest")  # the browser now holds a CSRF cookie
    refused = await client.post("/guest", data={"name": "Intruder"}, allow_redirects=False)
    assert refused.status == 403
    assert "request.csrf" not in await refused.text()  # the page explains in words
    forged = await client.post(
        "/guest", data={"name": "Intruder", "csrf_token": "0" * 64}, allow_redirects=False
    )
    assert forged.status == 403
    async with db() as s:
        assert await s.scalar(select(func.count()).select_from(Account)) == 0
    token = await csrf_from(client, "/guest")
    accepted = await client.post(
        "/guest", data={"name": "Welcome", "csrf_token": token}, allow_redirects=False
    )
    assert accepted.status == 303


async def test_register_login_logout_with_forms(client: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    await load_demo_program(db)
    token = await csrf_from(client, "/register")
    form = {
        "name": "Layla",
        "email": "layla@example.org",
        "password": PASSWORD,
        "csrf_token": token,
        "next": "/agenda",
    }
    registered = await client.post("/register", data=form, allow_redirects=False)
    assert registered.status == 303 and registered.headers["Location"] == "/agenda"
    cookie = registered.cookies["sidestage_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    agenda = await client.get("/agenda")
    assert agenda.status == 200
    logout = await client.post("/logout", data={"csrf_token": token}, allow_redirects=False)
    assert logout.status == 303
    assert (await client.get("/agenda", allow_redirects=False)).status == 303
    wrong = await client.post(
        "/login", data={"email": "layla@example.org", "password": "nope", "csrf_token": token}
    )
    assert wrong.status == 401 and "Wrong email or password." in await wrong.text()
    right = await client.post(
        "/login",
        data={
            "email": "layla@example.org",
            "password": PASSWORD,
            "csrf_token": token,
            "next": "//evil.example",
        },
        allow_redirects=False,
    )
    assert right.status == 303 and right.headers["Location"] == "/"


async def test_guest_is_refused_invite_only_page_and_admitted_by_link(
    client: TestClient,
    db,  # type: ignore[no-untyped-def]
) -> None:
    await load_demo_program(db)
    async with db() as s:
        closed = await s.scalar(select(Session).where(Session.visibility == "invite_only").limit(1))
    assert closed is not None
    page = await (await client.get(f"/sessions/{closed.id}")).text()
    assert "invited participants only" in page
    await _signed_in_host(client, db, closed.host_organization_id)
    token = await csrf_from(client, "/host")
    created = await client.post(
        f"/host/{closed.host_organization_id}/invites",
        allow_redirects=False,
        data={
            "session_id": str(closed.id),
            "label": "Sahel network",
            "valid_days": "7",
            "max_uses": "50",
            "csrf_token": token,
        },
    )
    assert created.status == 303, await created.text()
    async with db() as s:
        invite = await s.scalar(select(Invite))
    assert invite is not None and invite.label == "Sahel network" and invite.max_uses == 50
    assert invite.expires_at is not None and invite.expires_at > datetime.now(UTC) + timedelta(
        days=6
    )
    await client.post("/logout", data={"csrf_token": token})

    invite_page = await client.get(f"/invite/{invite.code}")
    assert invite_page.status == 200
    token = await csrf_from(client, f"/invite/{invite.code}")
    accepted = await client.post(
        f"/invite/{invite.code}",
        allow_redirects=False,
        data={"name": "Guest from the link", "csrf_token": token},
    )
    assert accepted.status == 303 and accepted.headers["Location"] == f"/sessions/{closed.id}"
    page = await (await client.get(f"/sessions/{closed.id}")).text()
    assert "You may join this live session." in page
    host_view = await client.get("/invite/not-a-code")
    assert host_view.status == 404


async def _signed_in_host(client: TestClient, db, organization_id: int) -> str:  # type: ignore[no-untyped-def]
    from tests.helpers import user_with_role

    await user_with_role(db, client, Role.HOST, organization_id=organization_id)
    async with db() as s:
        email = await s.scalar(select(Account.email).order_by(Account.id.desc()).limit(1))
    token = await csrf_from(client, "/login")
    signed = await client.post(
        "/login",
        data={"email": email, "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
    )
    assert signed.status == 303
    return str(email)


async def test_organizer_imports_a_file_through_the_page(client: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    from tests.helpers import user_with_role

    await user_with_role(db, client, Role.ORGANIZER)
    async with db() as s:
        email = await s.scalar(select(Account.email))
    token = await csrf_from(client, "/login")
    await client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    assert (await client.get("/organizer")).status == 200
    form = FormData()
    form.add_field("csrf_token", token)
    form.add_field(
        "file",
        schedule_bytes("pretalx-democon.json"),
        filename="democon.json",
        content_type="application/json",
    )
    imported = await client.post("/organizer/import", data=form)
    assert imported.status == 200
    assert "36 sessions (36 new, 0 updated)" in await imported.text()
    broken = FormData()
    broken.add_field("csrf_token", token)
    broken.add_field("file", b'{"schedule": {"version": "1"}}', filename="x.json")
    refused = await client.post("/organizer/import", data=broken)
    assert refused.status == 400 and "conference" in await refused.text()


async def test_organizer_page_is_for_organizers(client: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    assert (await client.get("/organizer", allow_redirects=False)).status == 303
    await registered_token(client)
    token = await csrf_from(client, "/register")
    await client.post(
        "/register",
        data={"name": "P", "email": "p@example.org", "password": PASSWORD, "csrf_token": token},
    )
    assert (await client.get("/organizer")).status == 403
    assert (await client.get("/host")).status == 404


async def test_calendars(client: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    from icalendar import Calendar

    session_id = await _session_at_1300_cest(db)
    whole = Calendar.from_ical(await (await client.get("/program.ics")).read())
    events = whole.walk("VEVENT")
    assert len(events) == 1
    assert events[0].decoded("dtstart") == datetime(2026, 6, 9, 11, 0, tzinfo=UTC)
    one = await client.get(f"/sessions/{session_id}.ics")
    assert one.headers["Content-Type"].startswith("text/calendar")
    assert (await client.get("/agenda.ics", allow_redirects=False)).status == 303


async def test_organizer_edits_session_settings_with_the_form(client: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    from tests.helpers import user_with_role

    await load_demo_program(db)
    await user_with_role(db, client, Role.ORGANIZER)
    async with db() as s:
        email = await s.scalar(select(Account.email))
        target = await s.scalar(select(Session).where(Session.visibility == "public").limit(1))
    assert target is not None
    token = await csrf_from(client, "/login")
    await client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    organizer_page = await (await client.get("/organizer")).text()
    assert f'href="/organizer/sessions/{target.id}"' in organizer_page
    assert (await client.get(f"/organizer/sessions/{target.id}")).status == 200
    form = {
        "kind": "open_space",
        "visibility": "registered",
        "host_organization_id": "",
        "capacity": "",
        "stream_url": "",
        "csrf_token": token,
    }
    saved = await client.post(f"/organizer/sessions/{target.id}", data=form, allow_redirects=False)
    assert saved.status == 303
    bad = await client.post(
        f"/organizer/sessions/{target.id}", data={**form, "stream_url": "javascript:alert(1)"}
    )
    assert bad.status == 400 and "https://" in await bad.text()
    async with db() as s:
        changed = await s.get(Session, target.id)
    assert changed is not None
    assert (changed.kind, changed.visibility, changed.host_organization_id) == (
        "open_space",
        "registered",
        None,
    )


async def test_cookies_are_secure_behind_an_https_proxy(settings, aiohttp_client, db) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from sidestage.web.app import create_app

    proxied = await aiohttp_client(create_app(replace(settings, trust_proxy=True)))
    token = await csrf_from(proxied, "/guest")
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    answer = await proxied.post(
        "/guest",
        data={"name": "Remote", "csrf_token": token},
        headers=headers,
        allow_redirects=False,
    )
    assert answer.status == 303
    cookie = answer.cookies["sidestage_session"]
    assert cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "Lax"
    plain = await csrf_from(client=proxied, path="/guest")
    over_http = await proxied.post(
        "/guest", data={"name": "Local", "csrf_token": plain}, allow_redirects=False
    )
    assert not over_http.cookies["sidestage_session"]["secure"]


async def test_a_session_page_gives_the_abstract_in_the_readers_language(client, db) -> None:  # type: ignore[no-untyped-def]
    await load_demo_program(db)
    async with db() as s:
        sessions = (await s.scalars(select(Session).order_by(Session.id))).all()
    session = next(x for x in sessions if (x.abstract_translations or {}).get("ar"))
    arabic = await (await client.get(f"/sessions/{session.id}?lang=ar")).text()
    assert session.abstract_translations["ar"] in arabic
    english = await (await client.get(f"/sessions/{session.id}?lang=en")).text()
    assert session.abstract_translations["ar"] not in english


async def test_a_host_sets_the_languages_of_its_own_sessions_only(client: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    """Floor, interpretation and caption languages: the session page shows them, the export
    carries them, and a host of another partner may not change them."""
    from multidict import MultiDict

    await load_demo_program(db)
    async with db() as s:
        hosted = await s.scalar(
            select(Session).where(Session.host_organization_id.is_not(None)).limit(1)
        )
        other = await s.scalar(
            select(Session).where(
                Session.host_organization_id.is_not(None),
                Session.host_organization_id != hosted.host_organization_id,  # type: ignore[union-attr]
            )
        )
    assert hosted is not None and other is not None
    await _signed_in_host(client, db, hosted.host_organization_id)  # type: ignore[arg-type]
    token = await csrf_from(client, f"/organizer/sessions/{hosted.id}")
    page = await (await client.get(f"/organizer/sessions/{hosted.id}")).text()
    assert 'name="captions"' in page and 'name="kind"' not in page  # languages only, for hosts
    form = MultiDict(
        [("csrf_token", token), ("floor", "fr"), ("interpretation", "ar"), ("interpretation", "en")]
        + [("captions", "fr"), ("captions", "ar")]
    )
    url = f"/organizer/sessions/{hosted.id}/languages"
    saved = await client.post(url, data=form, allow_redirects=False)
    assert saved.status == 303, await saved.text()
    async with db() as s:
        changed = await s.get(Session, hosted.id)
    assert changed is not None
    assert changed.languages == ["fr"]
    assert changed.interpretation_languages == ["ar", "en"]
    assert changed.caption_languages == ["fr", "ar"]
    shown = await (await client.get(f"/sessions/{hosted.id}?lang=en")).text()
    assert "Interpretation" in shown and "Captions" in shown and "Arabic" in shown
    # Followed in English through its interpreters: the program's English filter keeps it.
    listed = f'href="/sessions/{hosted.id}"'
    in_english = await client.get(f"/program?day={hosted.day_id}&language=en")
    assert listed in await in_english.text()
    in_spanish = await client.get(f"/program?day={hosted.day_id}&language=es")
    assert listed not in await in_spanish.text()

    bad = MultiDict([("csrf_token", token), ("captions", "not a language")])
    refused = await client.post(url, data=bad)
    assert refused.status == 400 and "Choose languages from the list." in await refused.text()
    elsewhere = await client.post(
        f"/organizer/sessions/{other.id}/languages", data=MultiDict([("csrf_token", token)])
    )
    assert elsewhere.status == 403
    async with db() as s:
        untouched = await s.get(Session, other.id)
    assert untouched is not None and untouched.caption_languages == other.caption_languages

    exported = json.loads(await (await client.get("/api/program/export")).text())
    meta = exported["schedule"]["conference"]["meta"]["sidestage"]["sessions"][changed.guid]
    assert meta["interpretation_languages"] == ["ar", "en"]
    assert meta["caption_languages"] == ["fr", "ar"]


async def test_places_tracks_and_calendars_are_in_the_readers_language(
    client: TestClient, db
) -> None:  # type: ignore[no-untyped-def]
    """Room and track names, and the titles, abstracts and places in iCalendar files, are
    given in the reader's language where the program translates them (meta.sidestage)."""
    from icalendar import Calendar

    await load_demo_program(db)
    from sqlalchemy.orm import selectinload

    async with db() as s:
        loaded = select(Session).options(selectinload(Session.room), selectinload(Session.track))
        every = (await s.scalars(loaded.order_by(Session.id))).all()
    session = next(
        s for s in every if s.room and s.track and s.title_translations.get("ar") and s.abstract
    )
    room_ar = session.room.name_translations["ar"]  # type: ignore[union-attr]
    track_ar = session.track.name_translations["ar"]  # type: ignore[union-attr]
    page = await (await client.get(f"/sessions/{session.id}?lang=ar")).text()
    assert room_ar in page and track_ar in page
    program = await (await client.get(f"/program?day={session.day_id}")).text()  # lang cookie
    assert track_ar in program

    arabic = Calendar.from_ical(await (await client.get(f"/sessions/{session.id}.ics")).read())
    (event,) = arabic.walk("VEVENT")
    assert str(event["summary"]) == session.title_translations["ar"]
    assert event["summary"].params["LANGUAGE"] == "ar"
    assert str(event["location"]) == room_ar
    assert track_ar in [str(c) for c in event["categories"].cats]
    assert str(arabic["x-wr-calname"]) == session.title_translations["ar"]

    english = await client.get(f"/sessions/{session.id}.ics?lang=en")
    (original,) = Calendar.from_ical(await english.read()).walk("VEVENT")
    assert str(original["summary"]) == session.title
    assert "LANGUAGE" not in original["summary"].params
    assert str(original["location"]) == session.room.name  # type: ignore[union-attr]

    exported = json.loads(await (await client.get("/api/program/export")).text())
    meta = exported["schedule"]["conference"]["meta"]["sidestage"]
    assert meta["room_translations"][session.room.name]["ar"] == room_ar  # type: ignore[union-attr]
    assert meta["track_translations"][session.track.name]["ar"] == track_ar  # type: ignore[union-attr]


async def test_the_marathon_board_filters_by_the_language_one_follows_in(
    client: TestClient,
    db,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The board lists the languages its sessions can be followed in, and keeps only the
    sessions one can follow in the chosen one (spoken, interpreted or captioned)."""
    from sidestage.web import pages

    await load_demo_program(db)
    async with db() as s:
        first = await s.scalar(select(func.min(Session.starts_at)))
    # The board as it is a minute into the virtual day, whatever the hour the test runs at.
    monkeypatch.setattr(pages, "utcnow", lambda: first + timedelta(minutes=1))
    board = await (await client.get("/marathon?lang=en")).text()
    offered = re.findall(
        r'<option value="([a-z-]+)"', board.split('name="language"')[1].split("</select>")[0]
    )
    assert offered and len(set(offered)) == len(offered)
    cards = board.count('class="card')
    assert cards > 0
    for code in offered:
        kept = await (await client.get(f"/marathon?language={code}")).text()
        assert 0 < kept.count('class="card') <= cards
    nothing = await (await client.get("/marathon?language=zz")).text()
    assert nothing.count('class="card') == 0


async def test_switching_language_keeps_the_programs_filters(client: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    await load_demo_program(db)
    page = await (await client.get("/program?language=ar&kind=side_event")).text()
    links = re.findall(r'href="(\?[^"]*lang=fr[^"]*)"', page)
    assert links == ["?language=ar&amp;kind=side_event&amp;lang=fr"]
    followed = await client.get("/program?language=ar&kind=side_event&lang=fr")
    assert 'value="side_event" selected' in await followed.text()
