"""HTTP endpoints of the live rooms: attendance figures, CSV exports, counted tool links."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from sidestage.platform.access.service import (
    Principal,
    check_session_access,
    inviting_organization,
)
from sidestage.platform.db import transaction, utcnow
from sidestage.platform.errors import Forbidden
from sidestage.platform.program.models import Session
from sidestage.platform.program.service import get_session
from sidestage.realtime.ice import ice_servers
from sidestage.rooms.attendance import service as attendance
from sidestage.rooms.polls import service as polls
from sidestage.rooms.qa import service as qa
from sidestage.rooms.tools import service as tools
from sidestage.web.api import api
from sidestage.web.api_kit import path_id
from sidestage.web.downloads import csv_response
from sidestage.web.keys import DB, PRINCIPAL, SETTINGS


async def moderated_session(db: AsyncSession, principal: Principal, session_id: int) -> Session:
    session = await get_session(db, session_id)
    if not principal.moderates(session):
        raise Forbidden("access.forbidden", "Only this session's organizers, hosts and moderators.")
    return session


@api.route("GET", "/api/sessions/{id}/attendance", "Attendance figures of a session", tag="rooms")
async def attendance_report(request: web.Request) -> dict[str, Any]:
    async with request.app[DB]() as db:
        session = await moderated_session(db, request[PRINCIPAL], path_id(request))
        return asdict(await attendance.report(db, session.id))


@api.route("GET", "/api/sessions/{id}/attendance.csv", "Attendance intervals as CSV", tag="rooms")
async def attendance_csv(request: web.Request) -> web.Response:
    async with request.app[DB]() as db:
        session = await moderated_session(db, request[PRINCIPAL], path_id(request))
        body = await attendance.report_csv(db, session.id)
        return csv_response(body, f"attendance-{session.id}.csv")


@api.route("GET", "/api/sessions/{id}/questions.csv", "The session's questions as CSV", tag="rooms")
async def questions_csv(request: web.Request) -> web.Response:
    async with request.app[DB]() as db:
        session = await moderated_session(db, request[PRINCIPAL], path_id(request))
        return csv_response(await qa.questions_csv(db, session.id), f"questions-{session.id}.csv")


@api.route("GET", "/api/polls/{id}/results.csv", "A poll's results as CSV", tag="rooms")
async def poll_csv(request: web.Request) -> web.Response:
    async with request.app[DB]() as db:
        poll = await polls.get_poll(db, path_id(request))
        await moderated_session(db, request[PRINCIPAL], poll.session_id)
        return csv_response(await polls.results_csv(db, poll), f"poll-{poll.id}.csv")


@api.route(
    "GET", "/api/sessions/{id}/tools", "Tools launched in a session, with clicks", tag="rooms"
)
async def tool_figures(request: web.Request) -> list[dict[str, Any]]:
    async with request.app[DB]() as db:
        session = await moderated_session(db, request[PRINCIPAL], path_id(request))
        found = await tools.tools_of(db, session.id)
        return [
            {
                "id": t.id,
                "title": t.title,
                "url": t.url,
                "clicks": _by_organization(await tools.clicks_by_organization(db, t.id)),
            }
            for t in found
        ]


def _by_organization(clicks: dict[int | None, int]) -> dict[str, int]:
    """Keyed by partner id; clicks from people no partner invited under "unattributed"."""
    return {str(org) if org else "unattributed": n for org, n in clicks.items()}


async def follow_tool(request: web.Request) -> web.Response:
    """Count the click (and the clicker's inviting partner), then go to the tool. A tool is
    part of its room: whoever may not enter the room gets the room's refusal, uncounted."""
    principal = request[PRINCIPAL]
    async with transaction(request.app[DB]) as db:
        tool = await tools.get_tool(db, path_id(request))
        session = await get_session(db, tool.session_id)
        check_session_access(principal, session)
        url = tools.checked_url(tool.url)  # a tool stored before the check was tightened
        account_id = principal.account.id if principal.account else None
        await tools.click(db, tool, account_id, inviting_organization(principal, session))
    raise web.HTTPFound(url)


@api.route("GET", "/api/rtc/ice-servers", "STUN and TURN servers for WebRTC", tag="rooms")
async def rtc_ice_servers(request: web.Request) -> dict[str, Any]:
    """Short-lived TURN credentials for the caller, beside the STUN servers."""
    account = request[PRINCIPAL].account
    assert account is not None  # the route is for signed-in callers only
    servers = ice_servers(request.app[SETTINGS], account.id, utcnow())
    return {"ice_servers": servers}


def setup(app: web.Application) -> None:
    app.router.add_get(r"/tools/{id:\d+}/go", follow_tool)
