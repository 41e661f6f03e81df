"""Attendance intervals and the figures organizers read from them."""

from __future__ import annotations

import csv
import io
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sidestage.platform.accounts.models import Account
from sidestage.platform.db import utcnow
from sidestage.platform.program.models import Organization
from sidestage.rooms.attendance.models import AttendanceInterval

STALE_AFTER = timedelta(seconds=90)  # three missed heartbeats


async def open_interval(
    db: AsyncSession, session_id: int, account_id: int, organization_id: int | None
) -> None:
    """Start a stay unless one is already open (another tab, another process)."""
    already = await db.scalar(
        select(AttendanceInterval.id).where(
            AttendanceInterval.session_id == session_id,
            AttendanceInterval.account_id == account_id,
            AttendanceInterval.ended_at.is_(None),
        )
    )
    if already is None:
        db.add(
            AttendanceInterval(
                session_id=session_id, account_id=account_id, organization_id=organization_id
            )
        )
        await db.flush()


async def close_interval(db: AsyncSession, session_id: int, account_id: int) -> None:
    now = utcnow()
    await db.execute(
        update(AttendanceInterval)
        .where(
            AttendanceInterval.session_id == session_id,
            AttendanceInterval.account_id == account_id,
            AttendanceInterval.ended_at.is_(None),
        )
        .values(ended_at=now, last_seen_at=now)
    )


async def touch(db: AsyncSession, pairs: Iterable[tuple[int, int]]) -> None:
    """The heartbeat: stays of people connected here are still going on."""
    wanted = list(pairs)
    if not wanted:
        return
    match = or_(
        *(
            and_(AttendanceInterval.session_id == s, AttendanceInterval.account_id == a)
            for s, a in wanted
        )
    )
    await db.execute(
        update(AttendanceInterval)
        .where(AttendanceInterval.ended_at.is_(None), match)
        .values(last_seen_at=utcnow())
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


@dataclass
class Report:
    session_id: int
    unique_attendees: int
    peak_concurrent: int
    total_minutes: float
    median_minutes: float
    by_organization: list[dict[str, object]] = field(default_factory=list)
    timeline: list[dict[str, object]] = field(default_factory=list)


async def report(db: AsyncSession, session_id: int) -> Report:
    intervals = await _intervals(db, session_id)
    now = utcnow()
    spans = [(i.started_at, i.ended_at or now) for i in intervals]
    minutes_by_person: dict[int, float] = defaultdict(float)
    for interval, (start, end) in zip(intervals, spans, strict=True):
        minutes_by_person[interval.account_id] += (end - start).total_seconds() / 60
    timeline, peak = _concurrency(spans)
    return Report(
        session_id=session_id,
        unique_attendees=len(minutes_by_person),
        peak_concurrent=peak,
        total_minutes=round(sum(minutes_by_person.values()), 1),
        median_minutes=round(statistics.median(minutes_by_person.values()), 1)
        if minutes_by_person
        else 0.0,
        by_organization=await _by_organization(db, intervals, minutes_by_person),
        timeline=timeline,
    )


async def _intervals(db: AsyncSession, session_id: int) -> list[AttendanceInterval]:
    query = select(AttendanceInterval).where(AttendanceInterval.session_id == session_id)
    return list((await db.scalars(query.order_by(AttendanceInterval.started_at))).all())


def _concurrency(spans: list[tuple[datetime, datetime]]) -> tuple[list[dict[str, object]], int]:
    """Concurrent stays over time (a step per change) and the highest point."""
    changes = sorted(
        [(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans],
        key=lambda change: (change[0], change[1]),
    )
    level = peak = 0
    timeline: list[dict[str, object]] = []
    for moment, step in changes:
        level += step
        peak = max(peak, level)
        timeline.append({"at": moment.isoformat(), "concurrent": level})
    return timeline, peak


async def _by_organization(
    db: AsyncSession, intervals: list[AttendanceInterval], minutes: dict[int, float]
) -> list[dict[str, object]]:
    people: dict[int | None, set[int]] = defaultdict(set)
    for interval in intervals:
        people[interval.organization_id].add(interval.account_id)
    names = {o.id: o.name for o in await db.scalars(select(Organization))}
    return [
        {
            "organization_id": org,
            "organization": names.get(org) if org else None,
            "attendees": len(ids),
            "minutes": round(sum(minutes[a] for a in ids), 1),
        }
        for org, ids in sorted(people.items(), key=lambda item: -len(item[1]))
    ]


async def report_csv(db: AsyncSession, session_id: int) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["account_id", "name", "email", "organization", "entered", "left", "minutes"])
    rows = await db.execute(
        select(AttendanceInterval, Account.display_name, Account.email, Organization.name)
        .join(Account, Account.id == AttendanceInterval.account_id)
        .outerjoin(Organization, Organization.id == AttendanceInterval.organization_id)
        .where(AttendanceInterval.session_id == session_id)
        .order_by(AttendanceInterval.started_at)
    )
    now = utcnow()
    for interval, name, email, organization in rows:
        end = interval.ended_at or now
        minutes = round((end - interval.started_at).total_seconds() / 60, 1)
        writer.writerow(
            [
                interval.account_id,
                name,
                email or "",
                organization or "",
                interval.started_at.isoformat(),
                interval.ended_at.isoformat() if interval.ended_at else "",
                minutes,
            ]
        )
    return out.getvalue()
