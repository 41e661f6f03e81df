"""Figures for the host console and the organizers' dashboard, across invites, stays and tools.

Each function reads what a page shows in a fixed number of queries, however many sessions,
invites or stays there are, and groups the rows in Python.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from sidestage.platform.access.models import Invite, InviteRedemption
from sidestage.platform.accounts.models import Account
from sidestage.platform.db import utcnow
from sidestage.platform.program.models import Organization, Session
from sidestage.platform.spreadsheet import csv_document
from sidestage.rooms.attendance import service as attendance
from sidestage.rooms.attendance.models import AttendanceInterval
from sidestage.rooms.attendance.service import Report, Span, Step
from sidestage.rooms.tools.models import Tool, ToolClick

# --- the host console ------------------------------------------------------------------------


@dataclass
class InviteReach:
    """One invite link: who redeemed it, and how many of them then came and for how long."""

    invite: Invite
    session: Session | None  # None: every session of the organization
    people: list[Account] = field(default_factory=list)  # who redeemed it, earliest first
    joined: int = 0
    minutes: float = 0.0

    @property
    def invited(self) -> int:
        return len(self.people)


@dataclass
class ToolReach:
    tool: Tool
    clicks: int
    clicks_by_invited: int  # by people the hosting organization invited


@dataclass
class HostFigures:
    sessions: list[Session] = field(default_factory=list)
    invites: list[InviteReach] = field(default_factory=list)
    tools: list[ToolReach] = field(default_factory=list)


async def host_figures(
    db: AsyncSession, organization_ids: Sequence[int], now: datetime | None = None
) -> dict[int, HostFigures]:
    """Sessions, invite links and launched tools of each organization, in five queries."""
    hosted: dict[int | None, list[Session]] = defaultdict(list)
    for session in await _hosted_sessions(db, organization_ids):
        hosted[session.host_organization_id].append(session)
    tools = await _tool_reaches(db, organization_ids)
    figures = {org: HostFigures(hosted[org], tools=tools.get(org, [])) for org in organization_ids}
    reaches = await _invite_reaches(db, organization_ids)
    await _add_stays(db, reaches, organization_ids, now or utcnow())
    for reach in reaches.values():
        figures[reach.invite.organization_id].invites.append(reach)
    return figures


async def _hosted_sessions(db: AsyncSession, organization_ids: Sequence[int]) -> list[Session]:
    query = select(Session).where(Session.host_organization_id.in_(organization_ids))
    return list((await db.scalars(query.order_by(Session.starts_at, Session.id))).all())


async def _invite_reaches(
    db: AsyncSession, organization_ids: Sequence[int]
) -> dict[int, InviteReach]:
    """The links, newest first, each with the people who redeemed it."""
    links = await db.execute(
        select(Invite, Session)
        .outerjoin(Session, Session.id == Invite.session_id)
        .where(Invite.organization_id.in_(organization_ids))
        .order_by(Invite.created_at.desc(), Invite.id.desc())
    )
    reaches = {invite.id: InviteReach(invite, session) for invite, session in links}
    people = await db.execute(
        select(InviteRedemption.invite_id, Account)
        .join(Account, Account.id == InviteRedemption.account_id)
        .where(InviteRedemption.invite_id.in_(list(reaches)))
        .order_by(InviteRedemption.redeemed_at, InviteRedemption.id)
    )
    for invite_id, account in people:
        reaches[invite_id].people.append(account)
    return reaches


async def _add_stays(
    db: AsyncSession,
    reaches: dict[int, InviteReach],
    organization_ids: Sequence[int],
    now: datetime,
) -> None:
    """Joined and minutes: stays after the redemption, in a session the link opens."""
    covered = or_(
        AttendanceInterval.session_id == Invite.session_id,
        and_(Invite.session_id.is_(None), Session.host_organization_id == Invite.organization_id),
    )
    rows = await db.execute(
        select(InviteRedemption.invite_id, AttendanceInterval)
        .join(Invite, Invite.id == InviteRedemption.invite_id)
        .join(AttendanceInterval, AttendanceInterval.account_id == InviteRedemption.account_id)
        .join(Session, Session.id == AttendanceInterval.session_id)
        .where(
            Invite.organization_id.in_(organization_ids),
            AttendanceInterval.started_at >= InviteRedemption.redeemed_at,
            covered,
        )
    )
    stays: dict[int, list[AttendanceInterval]] = defaultdict(list)
    for invite_id, interval in rows:
        stays[invite_id].append(interval)
    for invite_id, intervals in stays.items():
        minutes = attendance.minutes_by_account(intervals, now)
        reaches[invite_id].joined = len(minutes)
        reaches[invite_id].minutes = round(sum(minutes.values()), 1)


async def _tool_reaches(
    db: AsyncSession, organization_ids: Sequence[int]
) -> dict[int | None, list[ToolReach]]:
    """Tools launched in the organizations' sessions, with all clicks and their invitees'."""
    by_invited = case((ToolClick.organization_id == Session.host_organization_id, ToolClick.id))
    rows = await db.execute(
        select(Tool, Session.host_organization_id, func.count(ToolClick.id), func.count(by_invited))
        .join(Session, Session.id == Tool.session_id)
        .outerjoin(ToolClick, ToolClick.tool_id == Tool.id)
        .where(Session.host_organization_id.in_(organization_ids))
        .group_by(Tool.id, Session.host_organization_id)
        .order_by(Tool.launched_at, Tool.id)
    )
    by_organization: dict[int | None, list[ToolReach]] = defaultdict(list)
    for tool, organization_id, total, invited in rows:
        by_organization[organization_id].append(ToolReach(tool, total, invited))
    return by_organization


# --- the organizers' dashboard ---------------------------------------------------------------


@dataclass
class SessionAttendance:
    session: Session
    report: Report
    steps: list[Step]  # stays in this room over time


@dataclass
class DayAttendance:
    sessions: list[SessionAttendance]
    steps: list[Step]  # people in any of these rooms over time
    peak: int
    unique_attendees: int
    total_minutes: float


async def attendance_of(
    db: AsyncSession, sessions: Sequence[Session], now: datetime | None = None
) -> DayAttendance:
    """The figures of each session and of all of them together, in two queries."""
    now = now or utcnow()
    intervals = await attendance.intervals_of(db, [s.id for s in sessions])
    names = await attendance.organization_names(db)
    by_session: dict[int, list[AttendanceInterval]] = defaultdict(list)
    for interval in intervals:
        by_session[interval.session_id].append(interval)
    each = [_session_attendance(s, by_session[s.id], names, now) for s in sessions]
    minutes = attendance.minutes_by_account(intervals, now)
    steps, peak = attendance.concurrency(_people_spans(intervals, now))
    return DayAttendance(each, steps, peak, len(minutes), round(sum(minutes.values()), 1))


def _session_attendance(
    session: Session, intervals: list[AttendanceInterval], names: dict[int, str], now: datetime
) -> SessionAttendance:
    steps, _ = attendance.concurrency(attendance.spans_of(intervals, now))
    return SessionAttendance(
        session, attendance.summarize(session.id, intervals, names, now), steps
    )


def _people_spans(intervals: Sequence[AttendanceInterval], now: datetime) -> list[Span]:
    """Each person's stays merged, so someone in two rooms at once counts once."""
    by_person: dict[int, list[Span]] = defaultdict(list)
    for interval in intervals:
        by_person[interval.account_id].append((interval.started_at, interval.ended_at or now))
    return [span for spans in by_person.values() for span in merge_spans(spans)]


def merge_spans(spans: Sequence[Span]) -> list[Span]:
    """Overlapping or touching spans joined into one."""
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


DAY_COLUMNS = ["session_id", "session", *attendance.STAY_COLUMNS]


async def stays_csv(db: AsyncSession, sessions: Sequence[Session]) -> str:
    """Every stay in these sessions as CSV, session by session, in one query."""
    rows = await db.execute(
        select(AttendanceInterval, Session, Account.display_name, Account.email, Organization.name)
        .join(Session, Session.id == AttendanceInterval.session_id)
        .join(Account, Account.id == AttendanceInterval.account_id)
        .outerjoin(Organization, Organization.id == AttendanceInterval.organization_id)
        .where(AttendanceInterval.session_id.in_([s.id for s in sessions]))
        .order_by(
            Session.starts_at, Session.id, AttendanceInterval.started_at, AttendanceInterval.id
        )
    )
    now = utcnow()
    stays = [
        [session.id, session.title, *attendance.stay_cells(interval, name, email, org, now)]
        for interval, session, name, email, org in rows
    ]
    return csv_document([DAY_COLUMNS, *stays])
