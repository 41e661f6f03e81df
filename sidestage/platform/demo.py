"""Load the demo conference: its program (virtual day today) and an organizer to try it with.

The program is data: ``sidestage/data/demo-conference.json``, a schedule in the format
Sidestage imports (pretalx/frab, with Sidestage's own fields in ``meta.sidestage``), for
translators and organizers to edit as they would any schedule. It is loaded through the
same importer, its days moved so that the virtual day (its first) is today.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from sidestage.platform.access.service import make_organizer
from sidestage.platform.accounts import service as accounts
from sidestage.platform.program.schedule_format import parse_schedule
from sidestage.platform.program.schedule_import import ImportSummary, import_schedule

DEMO_FILE = Path(__file__).resolve().parents[1] / "data" / "demo-conference.json"
DEMO_ORGANIZER = "organizer@demo.sidestage.invalid"
DEMO_PASSWORD_FILE = "demo-organizer-password"  # in the data folder
DEMO_ZONE = "Africa/Casablanca"


@dataclass
class DemoLogin:
    email: str
    password: str


MARATHON_ENDS = time(19, 30)


def virtual_day_today() -> date:
    """Today, or tomorrow once today's marathon is over, so the demo always has a live day."""
    now = datetime.now(ZoneInfo(DEMO_ZONE))
    return now.date() + timedelta(days=1) if now.time() >= MARATHON_ENDS else now.date()


async def load_demo(db: AsyncSession, virtual_day: date | None = None) -> ImportSummary:
    """Import (or refresh in place) the demo program, its virtual day on ``virtual_day``."""
    text = await asyncio.to_thread(DEMO_FILE.read_text, "utf-8")
    document = json.loads(text)
    moved_to(document["schedule"], virtual_day or virtual_day_today())
    return await import_schedule(db, parse_schedule(document), prune=True)


def moved_to(schedule: dict[str, Any], first_day: date) -> None:
    """Move ``schedule`` (a schedule document's ``schedule`` object) in place so that its
    first day is ``first_day``: every date, and every time at the same local hour, its
    offset that of the new date in the conference's zone (Morocco's changes for Ramadan)."""
    conference = schedule["conference"]
    zone = ZoneInfo(conference["time_zone_name"])
    by = first_day - date.fromisoformat(conference["start"])
    for key in ("start", "end"):
        conference[key] = (date.fromisoformat(conference[key]) + by).isoformat()
    for day in conference["days"]:
        day["date"] = (date.fromisoformat(day["date"]) + by).isoformat()
        for key in ("day_start", "day_end"):
            day[key] = _moved(day[key], by, zone)
        for events in day["rooms"].values():
            for event in events:
                event["date"] = _moved(event["date"], by, zone)


def _moved(moment: str, by: timedelta, zone: ZoneInfo) -> str:
    local = datetime.fromisoformat(moment).astimezone(zone).replace(tzinfo=None)
    return (local + by).replace(tzinfo=zone).isoformat()


async def ensure_demo_organizer(db: AsyncSession, data_dir: Path) -> DemoLogin:
    """An organizer account whose password is generated once and kept in the data folder."""
    password_file = data_dir / DEMO_PASSWORD_FILE
    known = await asyncio.to_thread(_read_secret, password_file)
    account = await accounts.find_account_by_email(db, DEMO_ORGANIZER)
    if account is not None and known is not None:
        return DemoLogin(DEMO_ORGANIZER, known)
    password = secrets.token_urlsafe(12)
    if account is None:
        account = await accounts.register(db, DEMO_ORGANIZER, password, "Demo organizer")
        await make_organizer(db, account)
    else:
        await accounts.set_password(db, account, password)
    await db.flush()
    await asyncio.to_thread(_write_secret, password_file, password)
    return DemoLogin(DEMO_ORGANIZER, password)


def _read_secret(path: Path) -> str | None:
    return path.read_text().strip() if path.exists() else None


def _write_secret(path: Path, value: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(value)
    path.chmod(0o600)
