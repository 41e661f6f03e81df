"""Copies kept between commands are dropped as soon as a commit changes what they copy."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sidestage.platform.access.models import Role
from sidestage.platform.accounts.models import Account
from sidestage.platform.db import transaction
from sidestage.platform.epochs import Epochs
from sidestage.rooms.chat.models import ChatMessage
from tests.helpers import bearer, registered_token, user_with_role
from tests.rooms_world import World, make_world

Factory = async_sessionmaker[AsyncSession]


async def _moves(db: Factory, change) -> bool:  # type: ignore[no-untyped-def]
    epochs = Epochs()
    before = await epochs.current()
    async with transaction(db) as s:
        await change(s)
    return await epochs.current() != before


async def _guest(s: AsyncSession) -> Account:
    account = Account(display_name="Nadia", is_guest=True)
    s.add(account)
    await s.flush()
    return account


async def test_which_commits_move_the_epoch(db: Factory) -> None:
    async def new_account(s: AsyncSession) -> None:
        await _guest(s)

    async def renamed_account(s: AsyncSession) -> None:
        (await _guest(s)).display_name = "Nadia K."

    async def untouched_account(s: AsyncSession) -> None:
        account = await _guest(s)
        account.display_name = account.display_name  # set, but not changed

    async def banned_in_bulk(s: AsyncSession) -> None:
        await s.execute(update(Account).where(Account.id == -1).values(is_guest=False))

    async def grant(s: AsyncSession) -> None:
        from sidestage.platform.access.models import RoleGrant

        s.add(RoleGrant(account_id=(await _guest(s)).id, role=Role.SPEAKER))

    async def chat_line(s: AsyncSession) -> None:
        await s.execute(update(ChatMessage).where(ChatMessage.id == -1).values(text="x"))

    assert not await _moves(db, new_account)
    assert await _moves(db, renamed_account)
    assert not await _moves(db, untouched_account)
    assert await _moves(db, banned_in_bulk)
    assert await _moves(db, grant)
    assert not await _moves(db, chat_line)


async def test_a_rolled_back_change_keeps_the_epoch(db: Factory) -> None:
    epochs = Epochs()
    before = await epochs.current()
    with pytest.raises(RuntimeError):
        async with transaction(db) as s:
            (await _guest(s)).display_name = "Changed"
            await s.flush()
            raise RuntimeError("abandoned")
    assert await epochs.current() == before


@pytest.fixture
async def world(client: TestClient, db: Factory):  # type: ignore[no-untyped-def]
    built = await make_world(client, db)
    yield built
    await built.close()


async def test_a_role_granted_mid_connection_counts_at_once(world: World) -> None:
    """The connection's copy of who it is gives way on the command after the grant."""
    organizer = await user_with_role(world.db, world.http, Role.ORGANIZER)  # type: ignore[arg-type]
    email = "newly-moderating@example.org"
    member = await world.connect(await registered_token(world.http, email))
    room = {"session_id": world.public.id}
    await member.ok("room.enter", room)
    slow = {**room, "seconds": 5}
    assert (await member.call("chat.slow_mode", slow))["error"]["code"] == "chat.forbidden"

    granted = await world.http.post(
        "/api/roles",
        json={"email": email, "role": "moderator", "session_id": world.public.id},
        headers=bearer(organizer),
    )
    assert granted.status == 201
    await member.ok("chat.slow_mode", slow)

    grant_id = (await granted.json())["id"]
    revoked = await world.http.delete(f"/api/roles/{grant_id}", headers=bearer(organizer))
    assert revoked.status == 200
    assert (await member.call("chat.slow_mode", slow))["error"]["code"] == "chat.forbidden"
