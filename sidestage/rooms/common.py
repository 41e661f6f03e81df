"""Small rules every live-room feature shares: clean text, per-person rate limits."""

from __future__ import annotations

from pydantic import BaseModel

from sidestage.platform.accounts.models import Account
from sidestage.platform.errors import InvalidInput, NotFound, RateLimited
from sidestage.rooms.commands import Context


class Author(BaseModel):
    id: int
    name: str


def author_of(account: Account) -> Author:
    return Author(id=account.id, name=account.display_name)


async def require_person(ctx: Context, account_id: int, feature: str) -> None:
    if await ctx.db.get(Account, account_id) is None:
        raise NotFound(f"{feature}.no_such_person", "There is no such participant.")


def clean_text(raw: str, limit: int, feature: str) -> str:
    text = raw.strip()
    if not text:
        raise InvalidInput(f"{feature}.empty", "Write something first.")
    if len(text) > limit:
        raise InvalidInput(f"{feature}.too_long", f"At most {limit} characters.")
    return text


async def rate_limit(ctx: Context, feature: str, count: int, seconds: float) -> None:
    key = f"{feature}:{ctx.account.id}"
    wait = await ctx.services.limiter.hit(key, count, seconds)
    if wait is not None:
        raise RateLimited(f"{feature}.rate_limited", "Slow down a little.", retry_after=wait)


MAX_ID = 2**31 - 1
CLIENT_ID = r"^[A-Za-z0-9_-]{1,64}$"
