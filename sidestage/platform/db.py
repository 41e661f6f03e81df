"""Database plumbing shared by every feature: the declarative base, column types, engines."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.types import TypeDecorator

from sidestage.platform import fast_paths
from sidestage.platform.accel import SQLITE_ONE_TRIP

# Stable constraint names, so Alembic migrations read the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in Python, naive UTC in the database.

    SQLite has no time zone type; storing naive UTC everywhere keeps both
    backends identical and comparisons correct.
    """

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


T = TypeVar("T")


class ByDialect(Generic[T]):
    """A statement built once for each backend, for what SQLAlchemy spells per dialect
    (``INSERT … ON CONFLICT``); ``build`` is given that dialect's ``insert``."""

    def __init__(self, build: Callable[[Callable[..., Any]], T]) -> None:
        self._built = {"sqlite": build(sqlite.insert), "postgresql": build(postgresql.insert)}

    def __call__(self, db: AsyncSession) -> T:
        """The statement for the backend ``db`` talks to."""
        return self._built[db.get_bind().dialect.name]


def create_engine(url: str, *, timeout: float | None = None, **kwargs: Any) -> AsyncEngine:
    """An engine for ``url``; with ``timeout`` (seconds), PostgreSQL's connecting, each
    statement and each wait for a pooled connection fail after that long, so a frozen or
    unreachable server fails a request instead of holding it. SQLite has its busy timeout."""
    if url.startswith("sqlite"):
        if url.startswith("sqlite+aiosqlite") and fast_paths.runs(SQLITE_ONE_TRIP):
            from sidestage.platform.accel import sqlite_driver  # only where it runs

            kwargs.setdefault("module", sqlite_driver.dbapi())  # one trip per statement
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    if timeout is not None and url.startswith("postgresql+asyncpg"):
        kwargs = {**_asyncpg_bounds(timeout), **kwargs}
    return create_async_engine(url, pool_pre_ping=True, **kwargs)


def _asyncpg_bounds(timeout: float) -> dict[str, Any]:
    # The server cancels a slow statement itself (a clean error, the connection kept); the
    # client's command timeout, half a second later, is for a server that answers nothing.
    statement_ms = str(int(timeout * 1000))
    return {
        "pool_timeout": timeout,
        "connect_args": {
            "timeout": timeout,
            "command_timeout": timeout + 0.5,
            "server_settings": {"statement_timeout": statement_ms},
        },
    }


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # Writers take turns on the one database lock, each retrying with back-off while it
    # waits: a burst of votes keeps up to the pool's fifteen writers waiting, and at five
    # seconds the unluckiest gave up ("database is locked") in a 2,000-vote burst.
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions of a class of their own: what listens to their commits (``epochs.track``)
    hears this factory's, not every SQLAlchemy session's in the process."""
    own = type("SidestageSession", (Session,), {})
    return async_sessionmaker(engine, expire_on_commit=False, sync_session_class=own)


@asynccontextmanager
async def transaction(
    factory: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """One unit of work: committed when the block ends, rolled back on any error."""
    async with factory() as db, db.begin():
        yield db


@asynccontextmanager
async def transaction_if_used(
    factory: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """One unit of work, as ``transaction``, whose transaction begins with its first
    statement or added row. A command answered from copies kept in memory then costs no
    transaction at all: an empty one cost about 0.2 ms, a tenth of a join."""
    session = factory()
    used = False
    try:
        yield session
        used = session.in_transaction()
        if used:
            await session.commit()
    finally:
        if used or session.in_transaction():
            await session.close()  # rolls back what an error left; detaches the rows read
