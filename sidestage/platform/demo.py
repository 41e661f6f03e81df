"""Load the demo conference: its program (virtual day today) and an organizer to try it with."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from sidestage.platform.access.service import make_organizer
from sidestage.platform.accounts import service as accounts
from sidestage.platform.demo_program import demo_schedule
from sidestage.platform.program.schedule_format import parse_schedule
from sidestage.platform.program.schedule_import import ImportSummary, import_schedule

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
    document = {"schedule": demo_schedule(virtual_day or virtual_day_today())}
    schedule = parse_schedule(document)
    return await import_schedule(db, schedule, prune=True)


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
