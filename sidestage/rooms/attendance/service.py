"""Attendance intervals and the figures organizers read from them."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Insert, Integer, Table, Update, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sidestage.platform.accounts.models import Account
from sidestage.platform.db import UTCDateTime, utcnow
from sidestage.platform.program.models import Organization
from sidestage.platform.spreadsheet import csv_document
from sidestage.rooms.attendance.models import AttendanceInterval

STALE_AFTER = timedelta(seconds=90)  # three missed heartbeats
TOUCH_BATCH = 1000  # people per statement, well under every backend's parameter limit


def _open_unless_open() -> Insert:
    stays = cast(Table, AttendanceInterval.__table__)
    # Typed: PostgreSQL must know the type of a parameter in a select list.
    session = bindparam("session_id", type_=Integer)
    account = bindparam("account_id", type_=Integer)
    organization = bindparam("organization_id", type_=Integer)
    now = bindparam("now", type_=UTCDateTime)
    already = select(stays.c.id).where(
        stays.c.session_id == session, stays.c.account_id == account, stays.c.ended_at.is_(None)
    )
    new = select(session, account, organization, now, now).where(~already.exists())
    columns = ["session_id", "account_id", "organization_id", "started_at", "last_seen_at"]
    return insert(stays).from_select(columns, new, include_defaults=False)


def _close_if_open() -> Update:
    stays = cast(Table, AttendanceInterval.__table__)
    # Named apart from the columns: an UPDATE keeps the columns' own names for its SET.
    ended = bindparam("ended", type_=UTCDateTime)
    return (
        update(stays)
        .where(
            stays.c.session_id == bindparam("stay_session"),
            stays.c.account_id == bindparam("stay_account"),
            stays.c.ended_at.is_(None),
        )
        .values(ended_at=ended, last_seen_at=ended)
    )


# Start a stay unless one is already open (another tab, another process); ``now`` is when.
OPEN_UNLESS_OPEN = _open_unless_open()
# End the person's open stay in the room, if any, at ``ended``.
CLOSE_IF_OPEN = _close_if_open()


def ending(session_id: int, account_id: int, ended: datetime) -> dict[str, object]:
    """``CLOSE_IF_OPEN``'s parameters for one person's stay in one room."""
    return {"stay_session": session_id, "stay_account": account_id, "ended": ended}


async def close_stays(db: AsyncSession, pairs: Iterable[tuple[int, int]]) -> None:
    """End the open stays, if any, of these (room, person) pairs now: one statement."""
    now = utcnow()
    endings = [ending(session_id, account_id, now) for session_id, account_id in pairs]
    if endings:
        await db.execute(CLOSE_IF_OPEN, endings)


async def touch(db: AsyncSession, pairs: Iterable[tuple[int, int]]) -> None:
    """The heartbeat: stays of people connected here are still going on.

    One statement per room and batch of people, each the same cached statement: a single
    one matching every (room, person) pair was a new statement of thousands of clauses
    for SQLAlchemy to build and compile on each heartbeat, seconds of the event loop."""
    people: dict[int, list[int]] = defaultdict(list)
    for session_id, account_id in pairs:
        people[session_id].append(account_id)
    now = utcnow()
    for session_id, accounts in people.items():
        for start in range(0, len(accounts), TOUCH_BATCH):
            await db.execute(
                update(AttendanceInterval)
                .where(
                    AttendanceInterval.session_id == session_id,
                    AttendanceInterval.account_id.in_(accounts[start : start + TOUCH_BATCH]),
                    AttendanceInterval.ended_at.is_(None),
                )
                .values(last_seen_at=now)
            )


async def sweep_stale(db: AsyncSession, now: datetime | None = None) -> int:
    """Close stays nobody has vouched for lately (their process died): they end when last seen."""
    cutoff = (now or utcnow()) - STALE_AFTER
    result = await db.execute(
        update(AttendanceInterval)
        .where(AttendanceInterval.ended_at.is_(None), AttendanceInterval.last_seen_at < cutoff)
        .values(ended_at=AttendanceInterval.last_seen_at)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


Span = tuple[datetime, datetime]
Step = tuple[datetime, int]  # from this moment on, this many were in the room(s)


@dataclass
class OrganizationShare:
    """The people one partner's invites brought (no partner: ``organization_id`` is None)."""

    organization_id: int | None
    organization: str | None
    attendees: int
    minutes: float


@dataclass
class Report:
    session_id: int
    unique_attendees: int
    peak_concurrent: int
    total_minutes: float
    median_minutes: float
    by_organization: list[OrganizationShare] = field(default_factory=list)
    timeline: list[dict[str, object]] = field(default_factory=list)


async def report(db: AsyncSession, session_id: int) -> Report:
    intervals = await intervals_of(db, [session_id])
    return summarize(session_id, intervals, await organization_names(db), utcnow())


def summarize(
    session_id: int, intervals: list[AttendanceInterval], names: dict[int, str], now: datetime
) -> Report:
    """The figures of one session from its stays; open stays count until ``now``."""
    minutes_by_person = minutes_by_account(intervals, now)
    steps, peak = concurrency(spans_of(intervals, now))
    return Report(
        session_id=session_id,
        unique_attendees=len(minutes_by_person),
        peak_concurrent=peak,
        total_minutes=round(sum(minutes_by_person.values()), 1),
        median_minutes=round(statistics.median(minutes_by_person.values()), 1)
        if minutes_by_person
        else 0.0,
        by_organization=_by_organization(intervals, minutes_by_person, names),
        timeline=[{"at": moment.isoformat(), "concurrent": level} for moment, level in steps],
    )


async def intervals_of(db: AsyncSession, session_ids: list[int]) -> list[AttendanceInterval]:
    """Every stay in these sessions, in one query, earliest first."""
    query = select(AttendanceInterval).where(AttendanceInterval.session_id.in_(session_ids))
    order = (AttendanceInterval.started_at, AttendanceInterval.id)
    return list((await db.scalars(query.order_by(*order))).all())


async def organization_names(db: AsyncSession) -> dict[int, str]:
    return {o.id: o.name for o in await db.scalars(select(Organization))}


def spans_of(intervals: Iterable[AttendanceInterval], now: datetime) -> list[Span]:
    return [(i.started_at, i.ended_at or now) for i in intervals]


def minutes_by_account(intervals: Iterable[AttendanceInterval], now: datetime) -> dict[int, float]:
    minutes: dict[int, float] = defaultdict(float)
    for interval in intervals:
        minutes[interval.account_id] += _minutes(interval.started_at, interval.ended_at or now)
    return minutes


def _minutes(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 60


def concurrency(spans: Iterable[Span]) -> tuple[list[Step], int]:
    """Concurrent stays over time (a step per change) and the highest point.

    At one moment, departures come before arrivals, so a hand-over is not a peak; empty
    stays are left out, as they would step below zero.
    """
    lasting = [(start, end) for start, end in spans if end > start]
    changes = sorted(
        [(start, 1) for start, _ in lasting] + [(end, -1) for _, end in lasting],
        key=lambda change: (change[0], change[1]),
    )
    level = peak = 0
    steps: list[Step] = []
    for moment, step in changes:
        level += step
        peak = max(peak, level)
        steps.append((moment, level))
    return steps, peak


def _by_organization(
    intervals: list[AttendanceInterval], minutes: dict[int, float], names: dict[int, str]
) -> list[OrganizationShare]:
    people: dict[int | None, set[int]] = defaultdict(set)
    for interval in intervals:
        people[interval.organization_id].add(interval.account_id)
    return [
        OrganizationShare(
            organization_id=org,
            organization=names.get(org) if org else None,
            attendees=len(ids),
            minutes=round(sum(minutes[a] for a in ids), 1),
        )
        for org, ids in sorted(people.items(), key=lambda item: -len(item[1]))
    ]


STAY_COLUMNS = ["account_id", "name", "email", "organization", "entered", "left", "minutes"]


def stay_cells(
    interval: AttendanceInterval,
    name: str,
    email: str | None,
    organization: str | None,
    now: datetime,
) -> list[object]:
    """One stay as CSV cells, in the order of ``STAY_COLUMNS``; an open stay counts until now."""
    minutes = round(_minutes(interval.started_at, interval.ended_at or now), 1)
    return [
        interval.account_id,
        name,
        email or "",
        organization or "",
        interval.started_at.isoformat(),
        interval.ended_at.isoformat() if interval.ended_at else "",
        minutes,
    ]


async def report_csv(db: AsyncSession, session_id: int) -> str:
    rows = await db.execute(
        select(AttendanceInterval, Account.display_name, Account.email, Organization.name)
        .join(Account, Account.id == AttendanceInterval.account_id)
        .outerjoin(Organization, Organization.id == AttendanceInterval.organization_id)
        .where(AttendanceInterval.session_id == session_id)
        .order_by(AttendanceInterval.started_at)
    )
    now = utcnow()
    stays = [stay_cells(interval, name, email, org, now) for interval, name, email, org in rows]
    return csv_document([STAY_COLUMNS, *stays])
