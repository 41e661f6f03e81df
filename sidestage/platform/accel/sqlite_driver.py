"""SQLite through aiosqlite in one trip per statement.

aiosqlite runs each connection's calls on a thread of its own: every call is a trip
there and back (a queue, a thread woken, the event loop woken through its self-pipe).
SQLAlchemy's adapter makes four for each statement (open a cursor, execute, fetch the
rows, close the cursor) and, when the pool takes a connection back, a fifth to roll
back, even after a commit left nothing to roll back. A chat message (one INSERT and its
commit) took six trips: about 0.35 ms of CPU of the 1 ms its write cost on this machine.

Here a statement is one trip: the thread executes it, fetches its rows and closes its
cursor, and brings back what SQLAlchemy reads from a cursor (``description``,
``rowcount``, ``lastrowid``, the rows) and whether the connection now holds a
transaction. A commit or rollback with no transaction open goes nowhere. The same rows,
the same errors (sqlite3's, which SQLAlchemy wraps as ever), the same transactions.

Private API (SQLAlchemy 2.1.9, aiosqlite 0.22.1, both pinned exactly), all here:
- ``aiosqlite.Connection._execute(function, *args)``: runs ``function`` on the
  connection's thread; ``Connection._conn``: its sqlite3 connection (read there);
- SQLAlchemy's aiosqlite adapter classes, subclassed: ``AsyncAdapt_aiosqlite_dbapi``
  (``connect``), ``AsyncAdapt_aiosqlite_connection`` (``_cursor_cls``, ``_connection``,
  ``_execute_mutex``), and the cursor's ``_make_new_cursor``, ``_aenter_cursor``,
  ``_execute_async``, ``_executemany_async``, ``_awaitable_cursor_close``, ``_cursor``,
  ``_rows``, whose stock methods read ``_cursor``'s DBAPI attributes;
- ``create_engine(module=...)``, public: the DBAPI module a dialect uses.
``missing()`` checks them (``platform/accel``'s ``SQLITE_ONE_TRIP``); where any is gone,
SQLAlchemy's own adapter runs, and ``tests/test_sqlite_driver.py`` fails.
"""

from __future__ import annotations

import collections
import sqlite3
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)

from sidestage.platform.fast_paths import lacking, source_lacks

Description = tuple[tuple[Any, ...], ...] | None


class _Outcome:
    """What a statement left behind, read as SQLAlchemy reads a DBAPI cursor."""

    __slots__ = ("description", "rowcount", "lastrowid", "arraysize")

    def __init__(self) -> None:
        self.description: Description = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1

    def close(self) -> None:
        """Nothing to close: the thread closed the real cursor already."""


def _run(
    connection: aiosqlite.Connection, operation: str, parameters: Any, many: bool
) -> tuple[Description, int, int | None, list[Any], bool]:
    """On the connection's thread: execute, fetch everything, close; and whether a
    transaction is open now."""
    database: sqlite3.Connection = connection._conn
    cursor = database.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        rows = cursor.fetchall() if cursor.description else []
        return cursor.description, cursor.rowcount, cursor.lastrowid, rows, database.in_transaction
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A buffered cursor whose statements each take one trip to the thread."""

    __slots__ = ()
    _awaitable_cursor_close = False  # closing is done on the thread, with the statement
    _cursor: _Outcome  # type: ignore[assignment]
    _adapt_connection: OneTripConnection

    def _make_new_cursor(self, connection: Any) -> Any:
        return _Outcome()

    def _aenter_cursor(self, cursor: Any) -> Any:
        return cursor

    async def _execute_async(self, operation: Any, parameters: Any) -> None:
        await self._trip(operation, parameters, many=False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> None:
        await self._trip(operation, seq_of_parameters, many=True)

    async def _trip(self, operation: str, parameters: Any, many: bool) -> None:
        owner = self._adapt_connection
        owner.in_transaction = True  # until the thread says otherwise: a failure may leave one
        async with owner._execute_mutex:
            found = await self._connection._execute(
                _run, self._connection, operation, parameters, many
            )
        outcome = self._cursor
        outcome.description, outcome.rowcount, outcome.lastrowid, rows, in_transaction = found
        self._rows = collections.deque(rows)
        owner.in_transaction = in_transaction


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    """Knows whether its sqlite3 connection holds a transaction, so that an empty commit
    or rollback (the pool's, after every commit) costs no trip."""

    __slots__ = ("in_transaction",)
    _cursor_cls = OneTripCursor

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self.in_transaction = True  # not known until a statement tells

    def cursor(self, server_side: bool = False) -> Any:
        if server_side:
            self.in_transaction = True  # a streaming cursor's statements are not followed
        return super().cursor(server_side)

    def commit(self) -> None:
        if self.in_transaction:
            super().commit()
            self.in_transaction = False

    def rollback(self) -> None:
        if self.in_transaction:
            super().rollback()
            self.in_transaction = False


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *args: Any, **kwargs: Any) -> OneTripConnection:
        stock = super().connect(*args, **kwargs)
        return OneTripConnection(self, stock._connection)


def dbapi() -> OneTripDBAPI:
    """The DBAPI module for ``create_engine(module=...)`` on ``sqlite+aiosqlite``."""
    return OneTripDBAPI(aiosqlite, sqlite3)


def missing() -> list[str]:
    """The private names above that this process's SQLAlchemy or aiosqlite lack."""
    cursor = (
        "_make_new_cursor",
        "_aenter_cursor",
        "_execute_async",
        "_executemany_async",
        "_awaitable_cursor_close",
        "_cursor",
        "_rows",
        "_adapt_connection",
        "_connection",
    )
    return [
        *lacking(aiosqlite.Connection, "_execute"),
        *source_lacks(aiosqlite.Connection.__init__, "self._conn"),
        *lacking(AsyncAdapt_aiosqlite_cursor, *cursor),
        *lacking(AsyncAdapt_aiosqlite_connection, "_cursor_cls", "_connection", "_execute_mutex"),
    ]
