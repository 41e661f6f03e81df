"""Chat: every message is committed before it is acknowledged or broadcast."""

from __future__ import annotations

from datetime import timedelta
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from sidestage.platform.db import ByDialect, utcnow
from sidestage.platform.errors import Forbidden, NotFound, RateLimited
from sidestage.rooms import events as audience
from sidestage.rooms.chat import events
from sidestage.rooms.chat.models import ChatMessage, ChatMute
from sidestage.rooms.commands import Context
from sidestage.rooms.common import Author, clean_text, rate_limit, require_person
from sidestage.rooms.room import service as room

MAX_LENGTH = 1000
RATE = (5, 10.0)  # messages per seconds, per person, across the whole conference
PAGE = 50
MAX_SLOW_MODE = 600


async def send(ctx: Context, session_id: int, raw: str, client_id: str | None) -> events.Posted:
    """Post a message, or answer the one already posted under ``client_id`` (a resend
    after a dropped connection: same message, no double, no second count against the
    limits). One statement either way: the INSERT stands aside on a resend."""
    text = clean_text(raw, MAX_LENGTH, "chat")
    account, now = ctx.account, utcnow()
    row = {
        "session_id": session_id,
        "account_id": account.id,
        "author_name": account.display_name,
        "text": text,
        "client_id": client_id,
        "created_at": now,
    }
    new_id = await ctx.db.scalar(_INSERT_UNLESS_RESENT(ctx.db), row)
    if new_id is None:
        assert client_id is not None  # only a resend conflicts
        return events.posted(await _by_client_id(ctx.db, session_id, account.id, client_id))
    await _check_may_write(ctx, session_id)  # refused: the INSERT is rolled back with it
    author = Author(id=account.id, name=account.display_name)
    posted = events.Posted(id=new_id, session_id=session_id, text=text, author=author, at=now)
    ctx.outbox.add("chat.posted", posted, audience.room(session_id))
    return posted


_MESSAGES = cast(Table, ChatMessage.__table__)
_INSERT_UNLESS_RESENT = ByDialect(
    lambda insert: (
        insert(_MESSAGES)
        .on_conflict_do_nothing(index_elements=["session_id", "account_id", "client_id"])
        .returning(_MESSAGES.c.id)
    )
)  # the conflict is the message's unique (session, account, client id)


async def _by_client_id(
    db: AsyncSession, session_id: int, account_id: int, client_id: str
) -> ChatMessage:
    found = await db.scalar(
        select(ChatMessage).where(
            ChatMessage.session_id == session_id,
            ChatMessage.account_id == account_id,
            ChatMessage.client_id == client_id,
        )
    )
    assert found is not None  # the conflicting row, in this transaction's view
    return found


async def _check_may_write(ctx: Context, session_id: int) -> None:
    """Mutes, slow mode and the rate limit hold for participants, not for moderators."""
    if ctx.session is not None and ctx.principal.moderates(ctx.session):
        return
    await rate_limit(ctx, "chat", *RATE)
    assert ctx.room is not None
    if ctx.room.muted(ctx.account.id):
        raise Forbidden("chat.muted", "A moderator muted you in this chat for a while.")
    seconds = ctx.room.slow_mode_seconds
    if seconds:
        wait = await ctx.services.limiter.hit(f"slow:{session_id}:{ctx.account.id}", 1, seconds)
        if wait is not None:
            raise RateLimited(
                "chat.slow_mode", "Slow mode is on: wait before writing again.", retry_after=wait
            )


async def recent(db: AsyncSession, session_id: int, limit: int = PAGE) -> list[ChatMessage]:
    query = (
        select(ChatMessage)
        .where(ChatMessage.session_id == session_id, ChatMessage.deleted_at.is_(None))
        .order_by(ChatMessage.id.desc())
        .limit(limit)
    )
    return list(reversed((await db.scalars(query)).all()))


async def before(
    db: AsyncSession, session_id: int, before_id: int, limit: int = PAGE
) -> list[ChatMessage]:
    query = (
        select(ChatMessage)
        .where(
            ChatMessage.session_id == session_id,
            ChatMessage.deleted_at.is_(None),
            ChatMessage.id < before_id,
        )
        .order_by(ChatMessage.id.desc())
        .limit(limit)
    )
    return list(reversed((await db.scalars(query)).all()))


async def after(
    db: AsyncSession, session_id: int, after_id: int, limit: int = 500
) -> tuple[list[ChatMessage], bool]:
    """What a reconnecting client missed: messages after its last seen id, oldest first."""
    query = (
        select(ChatMessage)
        .where(
            ChatMessage.session_id == session_id,
            ChatMessage.deleted_at.is_(None),
            ChatMessage.id > after_id,
        )
        .order_by(ChatMessage.id)
        .limit(limit + 1)
    )
    found = list((await db.scalars(query)).all())
    return found[:limit], len(found) > limit


async def get_message(db: AsyncSession, message_id: int) -> ChatMessage:
    message = await db.get(ChatMessage, message_id)
    if message is None or message.deleted_at is not None:
        raise NotFound("chat.not_found", "There is no such message.")
    return message


async def delete(ctx: Context, message_id: int) -> None:
    """Authors delete their own messages; moderators delete any."""
    message = await get_message(ctx.db, message_id)
    own = message.account_id == ctx.account.id
    if not own and not (ctx.session is not None and ctx.principal.moderates(ctx.session)):
        raise Forbidden("chat.forbidden", "You may delete only your own messages.")
    message.deleted_at = utcnow()
    message.deleted_by = ctx.account.id
    await ctx.db.flush()
    body = events.Deleted(id=message.id, session_id=message.session_id)
    ctx.outbox.add("chat.deleted", body, audience.room(message.session_id))


async def mute(ctx: Context, session_id: int, account_id: int, minutes: int) -> ChatMute:
    await require_person(ctx, account_id, "chat")
    until = utcnow() + timedelta(minutes=minutes)
    found = await ctx.db.get(ChatMute, (session_id, account_id))
    if found is None:
        found = ChatMute(session_id=session_id, account_id=account_id, until=until)
        ctx.db.add(found)
    found.until, found.muted_by = until, ctx.account.id
    await ctx.db.flush()
    body = events.Muted(session_id=session_id, until=until)
    ctx.outbox.add("chat.muted", body, audience.user(account_id))
    return found


async def unmute(ctx: Context, session_id: int, account_id: int) -> None:
    found = await ctx.db.get(ChatMute, (session_id, account_id))
    if found is not None:
        await ctx.db.delete(found)
        await ctx.db.flush()


async def set_slow_mode(ctx: Context, session_id: int, seconds: int) -> None:
    await room.change_settings(ctx.db, session_id, slow_mode=seconds)
    body = events.SlowModeChanged(session_id=session_id, seconds=seconds)
    ctx.outbox.add("chat.slow_mode_changed", body, audience.room(session_id))
