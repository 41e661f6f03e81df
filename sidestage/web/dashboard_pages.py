"""The organizers' attendance dashboard: a day of sessions, one session, the day's stays as CSV."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from sidestage.platform.access import service as access
from sidestage.platform.db import utcnow
from sidestage.platform.errors import NotFound
from sidestage.platform.program import service as program
from sidestage.platform.program.models import Conference, Day, Session
from sidestage.rooms.attendance import figures
from sidestage.rooms.polls import service as polls
from sidestage.rooms.polls.models import PollStatus
from sidestage.web.api_kit import path_id
from sidestage.web.charts import bar_chart, step_chart
from sidestage.web.downloads import csv_response
from sidestage.web.keys import DB, PRINCIPAL, SETTINGS

SHOWN_POLLS = (PollStatus.OPEN, PollStatus.CLOSED)  # drafts have no votes yet


def setup(app: web.Application) -> None:
    app.router.add_get("/organizer/attendance", day_page, name="dashboard")
    app.router.add_get("/organizer/attendance.csv", day_csv)
    app.router.add_get(r"/organizer/attendance/{id:\d+}", session_page)


@aiohttp_jinja2.template("dashboard.html")
async def day_page(request: web.Request) -> dict[str, Any]:
    access.require_organizer(request[PRINCIPAL])
    async with request.app[DB]() as db:
        conference = await program.get_conference(db, request.app[SETTINGS].conference)
        day = program.day_to_show(conference, request.query.get("day"), utcnow())
        attendance = await figures.attendance_of(db, await _sessions_of(db, conference, day))
    zone = conference.time_zone
    return {
        "conference": conference,
        "day": day,
        "figures": attendance,
        "attendee_bars": bar_chart(attendance.sessions, lambda one: one.report.unique_attendees),
        "timeline": step_chart(attendance.steps, day.day_start, day.day_end, zone) if day else None,
        "conference_zone": zone,
    }


async def day_csv(request: web.Request) -> web.Response:
    access.require_organizer(request[PRINCIPAL])
    async with request.app[DB]() as db:
        conference = await program.get_conference(db, request.app[SETTINGS].conference)
        day = program.day_to_show(conference, request.query.get("day"), utcnow())
        if day is None:
            raise NotFound("program.no_conference", "No program has been imported yet.")
        body = await figures.stays_csv(db, await _sessions_of(db, conference, day))
    return csv_response(body, f"attendance-{day.date}.csv")


@aiohttp_jinja2.template("dashboard_session.html")
async def session_page(request: web.Request) -> dict[str, Any]:
    access.require_organizer(request[PRINCIPAL])
    async with request.app[DB]() as db:
        session = await program.get_session(db, path_id(request))
        conference = await program.get_conference(db, request.app[SETTINGS].conference)
        attendance = (await figures.attendance_of(db, [session])).sessions[0]
        session_polls = await polls.polls_of(db, session.id, statuses=SHOWN_POLLS)
        organizations = {o.id: o for o in await program.list_organizations(db)}
    partners = attendance.report.by_organization
    return {
        "session": session,
        "figures": attendance,
        "timeline": step_chart(
            attendance.steps, session.starts_at, session.ends_at, conference.time_zone
        ),
        "partner_bars": bar_chart(partners, lambda share: share.attendees),
        "organizations": organizations,
        "polls": session_polls,
        "conference_zone": conference.time_zone,
    }


async def _sessions_of(db: AsyncSession, conference: Conference, day: Day | None) -> list[Session]:
    if day is None:
        return []
    sessions: Sequence[Session] = await program.list_sessions(db, conference.id)
    return [s for s in sessions if s.day_id == day.id]
