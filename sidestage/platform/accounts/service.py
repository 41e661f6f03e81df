"""Registering, signing in, guests, and the tokens that carry a sign-in.

A token is shown to its holder once (cookie or API answer); only its SHA-256 is
stored, so a leaked database does not leak sign-ins.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sidestage.platform.accounts.models import Account, AuthToken
from sidestage.platform.accounts.passwords import (
    DUMMY_HASH,
    hash_password,
    needs_rehash,
    verify_password,
)
from sidestage.platform.db import UTCDateTime, transaction, utcnow
from sidestage.platform.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated

TOKEN_LIFETIME = timedelta(days=30)
GUEST_TOKEN_LIFETIME = timedelta(days=3)
MIN_PASSWORD = 10
MAX_PASSWORD = 1000
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


def normalize_email(raw: str) -> str:
    email = raw.strip().lower()
    if len(email) > 320 or not EMAIL.match(email):
        raise InvalidInput("auth.invalid_email", "That is not an email address.")
    return email


def clean_display_name(raw: str) -> str:
    name = " ".join(raw.split())
    if not 1 <= len(name) <= 100:
        raise InvalidInput("auth.invalid_name", "A display name has 1 to 100 characters.")
    return name


def _check_password_strength(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidInput("auth.weak_password", "A password has at least 10 characters.")


async def register(db: AsyncSession, email: str, password: str, display_name: str) -> Account:
    email = normalize_email(email)
    name = clean_display_name(display_name)
    _check_password_strength(password)
    # Hashed before the first statement: the session takes its connection only then.
    password_hash = await hash_password(password)
    if await find_account_by_email(db, email) is not None:
        raise Conflict("auth.email_taken", "An account with this email exists; sign in instead.")
    account = Account(email=email, password_hash=password_hash, display_name=name)
    db.add(account)
    await db.flush()
    return account


async def set_password(db: AsyncSession, account: Account, password: str) -> None:
    _check_password_strength(password)
    account.password_hash = await hash_password(password)


async def create_guest(db: AsyncSession, display_name: str) -> Account:
    account = Account(display_name=clean_display_name(display_name), is_guest=True)
    db.add(account)
    await db.flush()
    return account


async def authenticate(
    factory: async_sessionmaker[AsyncSession], email: str, password: str
) -> Account:
    """The account these credentials open, or ``auth.invalid_credentials`` (never which part).

    The account is read in a session of its own, closed before the hash is checked: a
    database connection held through a queue of slow hashes would starve the rooms."""
    async with factory() as db:
        account = await find_account_by_email(db, email.strip().lower())
    stored = account.password_hash if account and account.password_hash else DUMMY_HASH
    if not await verify_password(stored, password[:MAX_PASSWORD]):
        account = None
    if account is None or account.password_hash is None:
        raise Unauthenticated("auth.invalid_credentials", "Wrong email or password.")
    _refuse_banned(account)
    if needs_rehash(stored):
        await _store_hash(factory, account, await hash_password(password))
    return account


async def _store_hash(
    factory: async_sessionmaker[AsyncSession], account: Account, password_hash: str
) -> None:
    async with transaction(factory) as db:
        await db.execute(
            update(Account).where(Account.id == account.id).values(password_hash=password_hash)
        )
    account.password_hash = password_hash


def _refuse_banned(account: Account) -> None:
    if account.banned_at is not None:
        raise Forbidden("auth.banned", "This account has been banned from the conference.")


async def find_account_by_email(db: AsyncSession, email: str) -> Account | None:
    return await db.scalar(select(Account).where(Account.email == email))


async def get_account(db: AsyncSession, account_id: int) -> Account:
    account = await db.get(Account, account_id)
    if account is None:
        raise NotFound("auth.account_not_found", "There is no such account.")
    return account


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_token(db: AsyncSession, account: Account) -> str:
    token = secrets.token_urlsafe(32)
    lifetime = GUEST_TOKEN_LIFETIME if account.is_guest else TOKEN_LIFETIME
    db.add(
        AuthToken(token_hash=_digest(token), account_id=account.id, expires_at=utcnow() + lifetime)
    )
    await db.flush()
    return token


async def find_token_account(db: AsyncSession, token: str) -> Account | None:
    """The account of a valid, unexpired token, banned or not."""
    return (await find_token_accounts(db, [token])).get(token)


async def find_token_accounts(db: AsyncSession, tokens: Iterable[str]) -> dict[str, Account]:
    """Each valid, unexpired token's account, banned or not; other tokens are left out."""
    by_digest = {_digest(token): token for token in tokens if token and len(token) <= 200}
    if not by_digest:
        return {}
    found = await db.execute(_TOKEN_ACCOUNTS, {"digests": list(by_digest), "now": utcnow()})
    return {by_digest[digest]: account for digest, account in found}


# Built once: every connection asks, and building the statement cost more than running it.
_TOKEN_ACCOUNTS = (
    select(AuthToken.token_hash, Account)
    .select_from(Account)
    .join(AuthToken, AuthToken.account_id == Account.id)
    .where(
        AuthToken.token_hash.in_(bindparam("digests", expanding=True)),
        AuthToken.expires_at > bindparam("now", type_=UTCDateTime),
    )
)


async def account_for_token(db: AsyncSession, token: str) -> Account | None:
    """The signed-in account, or None for an unknown, expired or banned sign-in."""
    account = await find_token_account(db, token)
    return None if account is None or account.banned_at is not None else account


async def revoke_token(db: AsyncSession, token: str) -> None:
    await db.execute(delete(AuthToken).where(AuthToken.token_hash == _digest(token)))


async def set_preferences(
    db: AsyncSession, account: Account, *, locale: str | None, time_zone: str | None
) -> None:
    account.locale = locale
    account.time_zone = time_zone


async def count_accounts(db: AsyncSession) -> int:
    return int(await db.scalar(select(func.count()).select_from(Account)) or 0)
