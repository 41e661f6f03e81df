"""Live captions: a line is committed before it is acknowledged or shown; transcripts.

Lines come from the room (``caption.send``, a captioner typing or a moderator) or over
HTTP from an outside captioning service (a CART writer, speech recognition) with a
captioner's token. Either way a line names one of the languages the session offers
captions in, and reaches the room as a numbered ``caption.added`` event.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sidestage.platform.access.service import Principal
from sidestage.platform.accounts.models import Account
from sidestage.platform.db import utcnow
from sidestage.platform.errors import Forbidden, InvalidInput
from sidestage.platform.program.models import Session
from sidestage.rooms import events as audience
from sidestage.rooms.captions import events
from sidestage.rooms.captions.models import CaptionLine
from sidestage.rooms.common import clean_text
from sidestage.rooms.events import Outbox

MAX_LENGTH = 500  # characters in one line: a few seconds of speech
RECENT = 20  # lines per language a participant entering the room is given
CUE_AT_MOST = timedelta(seconds=6)  # how long a line stays on screen with none after it
CUE_AT_LEAST = timedelta(seconds=1)


def check_may_caption(principal: Principal, session: Session) -> None:
    if not principal.may_caption(session):
        raise Forbidden(
            "caption.forbidden", "Only this session's captioners and moderators send captions."
        )


async def add(
    db: AsyncSession, outbox: Outbox, session: Session, account: Account, language: str, raw: str
) -> CaptionLine:
    """Keep a line (the caller has checked ``check_may_caption``) and announce it."""
    if language not in session.caption_languages:
        raise InvalidInput(
            "caption.bad_language",
            "This session offers no captions in that language.",
            details={"offered": list(session.caption_languages)},
        )
    line = CaptionLine(
        session_id=session.id,
        language=language,
        text=clean_text(raw, MAX_LENGTH, "caption"),
        account_id=account.id,
        created_at=utcnow(),
    )
    db.add(line)
    await db.flush()
    outbox.add("caption.added", events.added(line), audience.room(session.id))
    return line


async def recent(db: AsyncSession, session_id: int) -> dict[str, list[CaptionLine]]:
    """The last ``RECENT`` lines of each language, oldest first."""
    newest_first = select(CaptionLine).where(CaptionLine.session_id == session_id)
    found: dict[str, list[CaptionLine]] = defaultdict(list)
    for language in await _languages_used(db, session_id):
        query = newest_first.where(CaptionLine.language == language)
        rows = await db.scalars(query.order_by(CaptionLine.id.desc()).limit(RECENT))
        found[language] = list(reversed(rows.all()))
    return dict(found)


async def _languages_used(db: AsyncSession, session_id: int) -> list[str]:
    return (await captioned(db, [session_id])).get(session_id, [])


async def captioned(db: AsyncSession, session_ids: list[int]) -> dict[int, list[str]]:
    """For each of these sessions that has captions, the languages it has lines in."""
    query = (
        select(CaptionLine.session_id, CaptionLine.language)
        .where(CaptionLine.session_id.in_(session_ids))
        .distinct()
    )
    found: dict[int, list[str]] = defaultdict(list)
    for session_id, language in sorted(await db.execute(query)):
        found[session_id].append(language)
    return dict(found)


async def transcript(db: AsyncSession, session_id: int, language: str) -> list[CaptionLine]:
    query = (
        select(CaptionLine)
        .where(CaptionLine.session_id == session_id, CaptionLine.language == language)
        .order_by(CaptionLine.id)
    )
    return list((await db.scalars(query)).all())


def as_webvtt(lines: list[CaptionLine], origin: datetime) -> str:
    """WebVTT cues timed from ``origin`` (the recording's start): each line from when it was
    sent until the next (at least a second, at most six); lines before ``origin`` start at
    its first moment."""
    cues = ["WEBVTT", ""]
    for index, line in enumerate(lines):
        start = max(line.created_at - origin, timedelta(0))
        following = lines[index + 1].created_at - origin if index + 1 < len(lines) else None
        end = start + CUE_AT_MOST
        if following is not None:
            end = max(min(end, following), start + CUE_AT_LEAST)
        cues += [str(index + 1), f"{_stamp(start)} --> {_stamp(end)}", _cue_text(line.text), ""]
    return "\n".join(cues)


def as_text(lines: list[CaptionLine]) -> str:
    """One line per caption line, as it was sent, with the UTC time it was sent at."""
    return "".join(f"[{line.created_at:%H:%M:%S}] {line.text}\n" for line in lines)


def _stamp(offset: timedelta) -> str:
    milliseconds = int(offset.total_seconds() * 1000)
    hours, rest = divmod(milliseconds, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, milliseconds = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{milliseconds:03d}"


def _cue_text(text: str) -> str:
    """WebVTT's cue text: no blank line inside (it would end the cue), and ``&``, ``<``
    and ``>`` escaped (which also leaves no "-->" in it)."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "\n".join(part for part in escaped.splitlines() if part.strip())
