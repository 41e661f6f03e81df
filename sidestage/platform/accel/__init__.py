"""The platform's fast paths on other libraries' private code (see ``fast_paths``).

What each replaces is declared here, and its module is imported only when it runs: an
upgrade that broke one cannot stop Sidestage from importing.
"""

from __future__ import annotations

from sidestage.platform.fast_paths import FastPath, checks

SQLITE_ONE_TRIP = FastPath(
    name="platform.sqlite_one_trip",
    replaces="four thread trips per SQLite statement (SQLAlchemy's aiosqlite adapter)",
    instead="SQLAlchemy's own aiosqlite adapter",
    missing=checks("sidestage.platform.accel.sqlite_driver"),
)
PATHS = (SQLITE_ONE_TRIP,)
