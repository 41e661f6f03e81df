"""The live room page and the moderators' console, for one room or all parallel rooms.

The server renders each room's frame, labels and forms in the person's language;
``static/js/room.js`` fills them from ``room.enter`` and keeps them live over Socket.IO.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from sidestage.platform.access.service import check_session_access
from sidestage.platform.db import utcnow
from sidestage.platform.errors import NotFound, Unauthenticated
from sidestage.platform.program import service as program
from sidestage.platform.program.models import Conference, Session
from sidestage.web.api_kit import path_id
from sidestage.web.keys import DB, PRINCIPAL, SETTINGS
from sidestage.web.pages import slots, zones
from sidestage.web.render import live_config
from sidestage.web.room_api import moderated_session
from sidestage.web.security import set_cookie

TEXT_ONLY_COOKIE = "sidestage_text_only"


def setup(app: web.Application) -> None:
    app.router.add_get(r"/sessions/{id:\d+}/room", room_page, name="room")
    app.router.add_get(r"/moderate/{id:\d+}", console_page, name="console")
    app.router.add_get("/moderate", parallel_console_page, name="parallel_console")


async def room_page(request: web.Request) -> web.Response:
    principal = request[PRINCIPAL]
    async with request.app[DB]() as db:
        session = await program.get_session(db, path_id(request))
        conference = await program.get_conference(db, request.app[SETTINGS].conference)
    if not session.live:
        raise NotFound("room.not_live", "This session takes place on site; it has no live room.")
    context: dict[str, Any] = {"session": session, "conference": conference}
    context.update(zones(request, conference))
    if not principal.signed_in:
        return aiohttp_jinja2.render_template("room_join.html", request, context)
    check_session_access(principal, session)
    text_only = _text_only(request)
    context.update(
        text_only=text_only,
        moderator=principal.moderates(session),
        config=live_config(request, conference),
        ended=utcnow() >= session.ends_at,
    )
    response = aiohttp_jinja2.render_template("room.html", request, context)
    if request.query.get("text") in ("0", "1"):
        set_cookie(request, response, TEXT_ONLY_COOKIE, "1" if text_only else "0", http_only=False)
    return response


def _text_only(request: web.Request) -> bool:
    """Text-only mode (no stage) is chosen with ``?text=1`` and remembered in a cookie."""
    asked = request.query.get("text")
    if asked in ("0", "1"):
        return asked == "1"
    return request.cookies.get(TEXT_ONLY_COOKIE) == "1"


async def console_page(request: web.Request) -> web.Response:
    if not request[PRINCIPAL].signed_in:
        raise Unauthenticated("auth.sign_in_required", "Sign in first.")
    async with request.app[DB]() as db:
        session = await moderated_session(db, request[PRINCIPAL], path_id(request))
        conference = await program.get_conference(db, request.app[SETTINGS].conference)
    if not session.live:
        raise NotFound("room.not_live", "This session takes place on site; it has no live room.")
    return _console(request, conference, [session], slot_list=[], chosen=None)


async def parallel_console_page(request: web.Request) -> web.Response:
    principal = request[PRINCIPAL]
    if not principal.signed_in:
        raise Unauthenticated("auth.sign_in_required", "Sign in first.")
    async with request.app[DB]() as db:
        conference = await program.get_conference(db, request.app[SETTINGS].conference)
        sessions = await program.list_sessions(db, conference.id)
    mine = [s for s in sessions if s.live and principal.moderates(s)]
    if not mine:
        raise NotFound("access.not_a_moderator", "You do not moderate any live session.")
    slot_list = slots(mine)
    chosen = _chosen_slot(slot_list, request.query.get("at"), utcnow())
    shown = next(group for start, group in slot_list if start == chosen)
    return _console(request, conference, shown, slot_list=slot_list, chosen=chosen)


def slot_key(start: datetime) -> str:
    """A slot's name in the console's address: its start in UTC, to the minute."""
    return start.astimezone(UTC).strftime("%Y%m%dT%H%MZ")


def _chosen_slot(
    slot_list: list[tuple[datetime, list[Session]]], asked: str | None, now: datetime
) -> datetime:
    """The slot asked for, else the one running now, else the next one, else the last."""
    for start, _ in slot_list:
        if asked == slot_key(start):
            return start
    for start, group in slot_list:
        if any(s.starts_at <= now < s.ends_at for s in group):
            return start
    upcoming = [start for start, _ in slot_list if start > now]
    return upcoming[0] if upcoming else slot_list[-1][0]


def _console(
    request: web.Request,
    conference: Conference,
    sessions: list[Session],
    *,
    slot_list: list[tuple[datetime, list[Session]]],
    chosen: datetime | None,
) -> web.Response:
    context = {
        "conference": conference,
        "sessions": sessions,
        "slots": slot_list,
        "chosen": chosen,
        "slot_key": slot_key,
        "config": live_config(request, conference),
        **zones(request, conference),
    }
    return aiohttp_jinja2.render_template("moderate.html", request, context)
