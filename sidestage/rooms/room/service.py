"""Room settings and removals."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sidestage.rooms.room.models import RoomRemoval, RoomSettings


async def settings_of(db: AsyncSession, session_id: int) -> RoomSettings:
    found = await db.get(RoomSettings, session_id)
    return found or RoomSettings(session_id=session_id, slow_mode_seconds=0, qa_moderated=False)


async def change_settings(
    db: AsyncSession,
    session_id: int,
    *,
    slow_mode: int | None = None,
    qa_moderated: bool | None = None,
) -> RoomSettings:
    found = await db.get(RoomSettings, session_id)
    if found is None:
        found = RoomSettings(session_id=session_id, slow_mode_seconds=0, qa_moderated=False)
        db.add(found)
    if slow_mode is not None:
        found.slow_mode_seconds = slow_mode
    if qa_moderated is not None:
        found.qa_moderated = qa_moderated
    await db.flush()
    return found


async def is_removed(db: AsyncSession, session_id: int, account_id: int) -> bool:
    return await db.get(RoomRemoval, (session_id, account_id)) is not None


async def remove(db: AsyncSession, session_id: int, account_id: int, by: int) -> None:
    if not await is_removed(db, session_id, account_id):
        db.add(RoomRemoval(session_id=session_id, account_id=account_id, removed_by=by))
        await db.flush()


async def removed_accounts(db: AsyncSession, session_id: int) -> list[int]:
    rows = await db.scalars(
        select(RoomRemoval.account_id).where(RoomRemoval.session_id == session_id)
    )
    return list(rows)
