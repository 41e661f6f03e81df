"""SQLite in one trip per statement (platform/accel/sqlite_driver.py): fewer trips to aiosqlite's
thread, the same rows, errors and transactions as the stock adapter."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import exc, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sidestage.platform.accel.sqlite_driver import OneTripConnection
from sidestage.platform.accounts.models import Account
from sidestage.platform.db import create_engine, session_factory, transaction

pytestmark = pytest.mark.fast_path("platform.sqlite_one_trip")

Factory = async_sessionmaker[AsyncSession]


@pytest.fixture
async def db(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[Factory]:
    """The migrated schema on SQLite (this driver is SQLite's alone)."""
    target = tmp_path / "sidestage.db"
    shutil.copyfile(sqlite_template, target)
    engine = create_engine(f"sqlite+aiosqlite:///{target}")
    yield session_factory(engine)
    await engine.dispose()


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of every function aiosqlite runs on a connection's thread, in order."""
    seen: list[str] = []
    run_on_thread = aiosqlite.Connection._execute

    async def counted(
        self: aiosqlite.Connection, function: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> Any:
        seen.append(getattr(function, "__name__", repr(function)))
        return await run_on_thread(self, function, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return seen


async def _warm(db: Factory) -> None:
    """Opens the pool's connection, whose set-up (pragmas) is not what is counted."""
    async with db() as session:
        await session.scalar(text("SELECT 1"))


async def _named(db: Factory, name: str) -> int:
    async with db() as session:
        return int(
            await session.scalar(select(func.count()).where(Account.display_name == name)) or 0
        )


async def test_the_engine_uses_the_one_trip_connection(db: Factory) -> None:
    async with db() as session:
        connection = await session.connection()
        raw = await connection.get_raw_connection()
        assert isinstance(raw.dbapi_connection, OneTripConnection)


async def test_a_write_and_its_commit_take_two_trips(db: Factory, trips: list[str]) -> None:
    """Stock: cursor, execute, fetch, close, commit, and the pool's rollback: six."""
    await _warm(db)
    trips.clear()
    async with transaction(db) as session:
        new_id = await session.scalar(
            insert(Account).values(display_name="Nadia", is_guest=True).returning(Account.id)
        )
    assert trips == ["_run", "commit"]
    async with db() as session:
        written = await session.get(Account, new_id)
    assert written is not None and written.display_name == "Nadia"


async def test_a_read_outside_a_transaction_takes_one_trip(db: Factory, trips: list[str]) -> None:
    """A SELECT opens no SQLite transaction: nothing to roll back when the pool takes the
    connection back, so no trip for it."""
    await _warm(db)
    trips.clear()
    async with db() as session:
        assert await session.scalar(text("SELECT 41 + 1")) == 42
    assert trips == ["_run"]


async def test_rows_description_and_counts_are_the_statements(db: Factory) -> None:
    async with transaction(db) as session:
        guests = [Account(display_name=f"Guest {n}", is_guest=True) for n in range(3)]
        session.add_all(guests)
        await session.flush()  # the ORM reads each new row's id back from the statement
        assert len({guest.id for guest in guests}) == 3
        changed = await session.execute(
            update(Account).where(Account.display_name.like("Guest %")).values(is_guest=False)
        )
        assert changed.rowcount == 3  # type: ignore[attr-defined]
        result = await session.execute(
            select(Account.id, Account.display_name).order_by(Account.display_name)
        )
        assert list(result.keys()) == ["id", "display_name"]
        names = [row.display_name for row in result]
    assert names == ["Guest 0", "Guest 1", "Guest 2"]


async def test_many_parameter_sets_are_one_trip(db: Factory, trips: list[str]) -> None:
    await _warm(db)
    trips.clear()
    rows = [{"display_name": f"Batch {n}", "is_guest": True} for n in range(50)]
    async with transaction(db) as session:
        await session.execute(insert(Account), rows)
    assert trips.count("_run") == 1
    async with db() as session:
        count = select(func.count()).where(Account.display_name.like("Batch %"))
        assert await session.scalar(count) == 50


async def test_a_failed_statement_is_sqlalchemys_error_and_rolls_back(db: Factory) -> None:
    """The transaction's earlier write is undone: the rollback after a failure is made,
    and the error is SQLAlchemy's, as with the stock adapter."""
    with pytest.raises(exc.IntegrityError):
        async with transaction(db) as session:
            session.add(Account(display_name="Written first", is_guest=True))
            await session.flush()
            await session.execute(text("INSERT INTO accounts (id) VALUES (NULL)"))
    assert await _named(db, "Written first") == 0


async def test_bad_sql_is_a_clear_error_and_the_connection_still_works(db: Factory) -> None:
    with pytest.raises(exc.OperationalError, match="no such table"):
        async with db() as session:
            await session.execute(text("SELECT * FROM no_such_table"))
    async with db() as session:
        assert await session.scalar(text("SELECT 1")) == 1
