"""Telling an outage from a bug: whether a failure says the database or Redis cannot be
reached now, so that the transports answer a retryable ``server.unavailable`` instead of
``server.error``.

Only the transports' two error conversions ask this, on exceptions nothing else caught.
"""

from __future__ import annotations

import asyncpg
from redis import exceptions as redis_errors
from sqlalchemy import exc as sql_errors

from sidestage.platform.errors import ServiceUnavailable

DATABASE = "database"
REDIS = "redis"
RETRY_AFTER = 5  # seconds a client is asked to wait before trying again
# SQLSTATE classes of a server that is there but cannot serve now: connection exception
# (08), insufficient resources (53, e.g. too many connections), operator intervention
# (57: shutting down, starting up, a statement cancelled by ``statement_timeout``).
UNAVAILABLE_SQLSTATES = ("08", "53", "57")
DATABASE_CLIENTS = ("sqlalchemy.", "asyncpg.", "aiosqlite.")
REDIS_CLIENTS = ("redis.",)


def unreachable(error: BaseException) -> str | None:
    """``DATABASE`` or ``REDIS`` when ``error`` says that service cannot be reached now;
    None for anything else (a bug, or a refusal the service made on purpose)."""
    if isinstance(error, redis_errors.ConnectionError | redis_errors.TimeoutError):
        return REDIS  # redis-py wraps its sockets' errors, timeouts and a full pool in these
    if isinstance(error, sql_errors.DBAPIError):
        return DATABASE if _lost(error) else None
    if isinstance(error, sql_errors.TimeoutError):
        return DATABASE  # no pooled connection came free in time
    if isinstance(error, asyncpg.InterfaceError | asyncpg.PostgresConnectionError):
        return DATABASE
    if isinstance(error, OSError):
        # Connecting (refused, unreachable) and asyncpg's command timeout come out of the
        # pool unwrapped (TimeoutError is an OSError); a file that is missing is no outage.
        return _raised_within(error)
    return None


def _raised_within(error: BaseException) -> str | None:
    """Which service's client code the exception came up through, if any."""
    frame = error.__traceback__
    while frame is not None:
        module = str(frame.tb_frame.f_globals.get("__name__", ""))
        if module.startswith(DATABASE_CLIENTS):
            return DATABASE
        if module.startswith(REDIS_CLIENTS):
            return REDIS
        frame = frame.tb_next
    return None


def _lost(error: sql_errors.DBAPIError) -> bool:
    if error.connection_invalidated:
        return True
    if isinstance(error, sql_errors.OperationalError | sql_errors.InterfaceError):
        return True
    sqlstate = getattr(error.orig, "sqlstate", None) or ""
    return sqlstate.startswith(UNAVAILABLE_SQLSTATES)


def unavailable(service: str) -> ServiceUnavailable:
    """What the client is told: nothing about which service, only to come back soon."""
    return ServiceUnavailable(
        "server.unavailable",
        "The service is briefly unavailable. Try again in a few seconds.",
        retry_after=RETRY_AFTER,
        service=service,
    )
