"""Public pages: the program by day, a session, the marathon board, my agenda, calendars."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from itertools import groupby
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from sidestage.platform.access.service import may_enter
from sidestage.platform.db import utcnow
from sidestage.platform.errors import Unauthenticated
from sidestage.platform.program import service as program
from sidestage.platform.program.ical import calendar
from sidestage.platform.program.models import Conference, Session, SessionKind
from sidestage.realtime.server import REALTIME
from sidestage.web import account_pages, manage_pages
from sidestage.web.api import base_url
from sidestage.web.api_kit import path_id
from sidestage.web.i18n import common_time_zones, valid_time_zone
from sidestage.web.keys import DB, LOCALE, PRINCIPAL, SETTINGS, TIME_ZONE
from sidestage.web.render import live_config
from sidestage.web.security import LANGUAGE_COOKIE, TIME_ZONE_COOKIE, safe_next, set_cookie


def setup(app: web.Application) -> None:
    app.router.add_get("/", program_page, name="home")
    app.router.add_get("/program", program_page, name="program")
    app.router.add_get("/program.ics", program_calendar)
    app.router.add_get(r"/sessions/{id:\d+}", session_page, name="session")
    app.router.add_get(r"/sessions/{id:\d+}.ics", session_calendar)
    app.router.add_post(r"/sessions/{id:\d+}/bookmark", bookmark_form)
    app.router.add_get("/marathon", marathon_page, name="marathon")
    app.router.add_get("/agenda", agenda_page, name="agenda")
    app.router.add_get("/agenda.ics", agenda_calendar)
    app.router.add_get("/settings", settings_page, name="settings")
    app.router.add_post("/settings", settings_form)
    app.router.add_get("/healthz", health)
    account_pages.setup(app)
    manage_pages.setup(app)


async def health(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def zones(request: web.Request, conference: Conference) -> dict[str, str]:
    """The conference's zone, and the person's when they chose or were detected in another."""
    your_zone = request[TIME_ZONE] or conference.time_zone
    return {"conference_zone": conference.time_zone, "your_zone": your_zone}


@aiohttp_jinja2.template("program.html")
async def program_page(request: web.Request) -> dict[str, Any]:
    filters = _filters(request)
    async with request.app[DB]() as db:
        conference = await program.get_conference(db, request.app[SETTINGS].conference)
        day = program.day_to_show(conference, request.query.get("day"), utcnow())
        all_sessions = await program.list_sessions(db, conference.id)
        tracks = await program.list_tracks(db, conference.id)
    # One query serves both the day's grid and the language filter's choices.
    sessions = [s for s in all_sessions if day is None or s.day_id == day.id]
    shown = [s for s in sessions if _matches(s, filters)]
    return {
        "conference": conference,
        "day": day,
        "slots": slots(shown),
        "filters": filters,
        "tracks": tracks,
        "kinds": list(SessionKind),
        "session_languages": sorted({code for s in all_sessions for code in s.followable_in}),
        "shown": len(shown),
        **zones(request, conference),
    }


def _filters(request: web.Request) -> dict[str, str]:
    return {key: request.query.get(key, "")[:100] for key in ("language", "track", "kind")}


def _matches(session: Session, filters: dict[str, str]) -> bool:
    if filters["language"] and filters["language"] not in session.followable_in:
        return False
    if filters["track"] and (session.track is None or session.track.slug != filters["track"]):
        return False
    return not filters["kind"] or session.kind == filters["kind"]


def slots(sessions: Sequence[Session]) -> list[tuple[datetime, list[Session]]]:
    """Sessions grouped by start time: each group is shown side by side, in parallel."""
    ordered = sorted(sessions, key=lambda s: (s.starts_at, s.room.position if s.room else 0))
    return [(start, list(group)) for start, group in groupby(ordered, key=lambda s: s.starts_at)]


@aiohttp_jinja2.template("session.html")
async def session_page(request: web.Request) -> dict[str, Any]:
    principal = request[PRINCIPAL]
    async with request.app[DB]() as db:
        session = await program.get_session(db, path_id(request))
        conference = await program.get_conference(db, request.app[SETTINGS].conference)
        marks = (
            await program.bookmarked_ids(db, principal.account.id) if principal.account else set()
        )
    return {
        "conference": conference,
        "session": session,
        "may_enter": may_enter(principal, session),
        "bookmarked": session.id in marks,
        "now": utcnow(),
        **zones(request, conference),
    }


async def bookmark_form(request: web.Request) -> web.Response:
    principal = request[PRINCIPAL]
    session_id = path_id(request)
    if principal.account is None:
        raise web.HTTPSeeOther(f"/login?next=/sessions/{session_id}")
    form = await request.post()
    async with request.app[DB]() as db, db.begin():
        if form.get("action") == "remove":
            await program.unbookmark(db, principal.account.id, session_id)
        else:
            await program.bookmark(db, principal.account.id, session_id)
    raise web.HTTPSeeOther(safe_next(str(form.get("next") or ""), f"/sessions/{session_id}"))


@aiohttp_jinja2.template("marathon.html")
async def marathon_page(request: web.Request) -> dict[str, Any]:
    now = utcnow()
    async with request.app[DB]() as db:
        conference = await program.get_conference(db, request.app[SETTINGS].conference)
        running, upcoming = await program.sessions_around(db, conference.id, now)
    presence = request.app[REALTIME].services.presence
    # Followed in a language: spoken, interpreted or captioned (the program's filter too).
    languages = sorted({code for s in running + upcoming for code in s.followable_in})
    language = request.query.get("language", "")[:16]
    if language:
        running = [s for s in running if language in s.followable_in]
        upcoming = [s for s in upcoming if language in s.followable_in]
    return {
        "conference": conference,
        "running": running,
        "upcoming": upcoming,
        "session_languages": languages,
        "language": language,
        "counts": await presence.counts(s.id for s in running + upcoming),
        "now": now,
        "config": live_config(request, conference),
        **zones(request, conference),
    }


@aiohttp_jinja2.template("agenda.html")
async def agenda_page(request: web.Request) -> dict[str, Any]:
    principal = request[PRINCIPAL]
    if principal.account is None:
        raise Unauthenticated("auth.sign_in_required", "Sign in to keep your own agenda.")
    async with request.app[DB]() as db:
        conference = await program.get_conference(db, request.app[SETTINGS].conference)
        sessions = await program.agenda(db, principal.account.id)
    return {"conference": conference, "sessions": sessions, **zones(request, conference)}


def _ics(body: bytes, filename: str) -> web.Response:
    response = web.Response(body=body, content_type="text/calendar", charset="utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


async def program_calendar(request: web.Request) -> web.Response:
    async with request.app[DB]() as db:
        conference = await program.get_conference(db, request.app[SETTINGS].conference)
        sessions = await program.list_sessions(db, conference.id)
    title = _in_reader(request, conference.title, conference.title_translations)
    body = calendar(conference, sessions, base_url(request), title, request[LOCALE].code)
    return _ics(body, f"{conference.acronym}.ics")


async def session_calendar(request: web.Request) -> web.Response:
    async with request.app[DB]() as db:
        session = await program.get_session(db, path_id(request))
        conference = await program.get_conference(db, request.app[SETTINGS].conference)
    title = _in_reader(request, session.title, session.title_translations)
    body = calendar(conference, [session], base_url(request), title, request[LOCALE].code)
    return _ics(body, f"session-{session.id}.ics")


async def agenda_calendar(request: web.Request) -> web.Response:
    principal = request[PRINCIPAL]
    if principal.account is None:
        raise Unauthenticated("auth.sign_in_required", "Sign in to get your agenda.")
    async with request.app[DB]() as db:
        conference = await program.get_conference(db, request.app[SETTINGS].conference)
        sessions = await program.agenda(db, principal.account.id)
    title = _in_reader(request, conference.title, conference.title_translations)
    name = f"{title}: {principal.account.display_name}"
    language = request[LOCALE].code
    return _ics(calendar(conference, sessions, base_url(request), name, language), "my-agenda.ics")


def _in_reader(request: web.Request, original: str, translations: dict[str, str]) -> str:
    return (translations or {}).get(request[LOCALE].code) or original


@aiohttp_jinja2.template("settings.html")
async def settings_page(request: web.Request) -> dict[str, Any]:
    return {"time_zones": common_time_zones(), "next": safe_next(request.query.get("next"))}


async def settings_form(request: web.Request) -> web.Response:
    form = await request.post()
    response = web.HTTPSeeOther(safe_next(str(form.get("next") or "")))
    zone = valid_time_zone(str(form.get("time_zone") or ""))
    if zone:
        set_cookie(request, response, TIME_ZONE_COOKIE, zone, http_only=False)
    language = str(form.get("language") or "")
    if language in ("en", "ar", "fr", "es"):
        set_cookie(request, response, LANGUAGE_COOKIE, language, http_only=False)
    raise response
