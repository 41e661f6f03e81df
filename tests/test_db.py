"""The dispatcher's unit of work: a transaction only when something is read or written."""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sidestage.platform.accounts.models import Account
from sidestage.platform.db import transaction_if_used

Factory = async_sessionmaker[AsyncSession]


async def _accounts_named(db: Factory, name: str) -> int:
    async with db() as s:
        return int(await s.scalar(select(func.count()).where(Account.display_name == name)) or 0)


def _count_checkouts(db: Factory) -> list[int]:
    checkouts: list[int] = []
    engine = db.kw["bind"].sync_engine
    event.listen(engine, "checkout", lambda *args: checkouts.append(1))
    return checkouts


async def test_an_unused_unit_of_work_touches_no_connection(db: Factory) -> None:
    checkouts = _count_checkouts(db)
    async with transaction_if_used(db) as session:
        assert not session.in_transaction()
    assert checkouts == []


async def test_what_it_writes_is_committed(db: Factory) -> None:
    async with transaction_if_used(db) as session:
        session.add(Account(display_name="Kept", is_guest=True))
    assert await _accounts_named(db, "Kept") == 1
    assert not session.in_transaction()


async def test_an_error_rolls_back_what_it_wrote(db: Factory) -> None:
    with pytest.raises(RuntimeError):
        async with transaction_if_used(db) as session:
            session.add(Account(display_name="Lost", is_guest=True))
            await session.flush()
            raise RuntimeError("the handler failed")
    assert await _accounts_named(db, "Lost") == 0
    assert not session.in_transaction()


async def test_rows_it_read_outlive_it(db: Factory) -> None:
    """What a command reads may be kept as a copy (rooms/room/config.py)."""
    async with db() as s, s.begin():
        s.add(Account(display_name="Read", is_guest=True))
    async with transaction_if_used(db) as session:
        account = await session.scalar(select(Account).where(Account.display_name == "Read"))
    assert account is not None and account.display_name == "Read"  # loaded, detached
    assert account not in session
