"""Small test helpers: signing in through the real API, making roles and a program."""

from __future__ import annotations

import re
import uuid
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sidestage.platform.access.models import Role, RoleGrant
from sidestage.platform.accounts import service as accounts
from sidestage.platform.db import transaction
from sidestage.platform.demo import load_demo

PASSWORD = "correct horse battery"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def guest_token(client: TestClient, name: str = "Amina") -> str:
    response = await client.post("/api/auth/guest", json={"name": name})
    assert response.status == 201, await response.text()
    return str((await response.json())["token"])


async def registered_token(client: TestClient, email: str | None = None) -> str:
    email = email or f"{uuid.uuid4().hex[:8]}@example.org"
    body = {"email": email, "password": PASSWORD, "name": email.split("@")[0]}
    response = await client.post("/api/auth/register", json=body)
    assert response.status == 201, await response.text()
    return str((await response.json())["token"])


async def user_with_role(
    factory: async_sessionmaker[AsyncSession],
    client: TestClient,
    role: Role,
    *,
    organization_id: int | None = None,
    session_id: int | None = None,
) -> str:
    """A registered account holding ``role``, signed in: returns its bearer token."""
    email = f"{role}-{uuid.uuid4().hex[:8]}@example.org"
    token = await registered_token(client, email)
    await grant_by_email(factory, email, role, organization_id, session_id)
    return token


async def grant_by_email(
    factory: async_sessionmaker[AsyncSession],
    email: str,
    role: Role,
    organization_id: int | None = None,
    session_id: int | None = None,
) -> None:
    """Straight into the database: for tests where granting is not what is under test."""
    async with transaction(factory) as db:
        account = await accounts.find_account_by_email(db, email)
        assert account is not None
        db.add(
            RoleGrant(
                account_id=account.id,
                role=role,
                organization_id=organization_id,
                session_id=session_id,
            )
        )


async def load_demo_program(factory: async_sessionmaker[AsyncSession]) -> Any:
    async with transaction(factory) as db:
        return await load_demo(db)


async def csrf_from(client: TestClient, path: str) -> str:
    """Open a page as a browser would and read the CSRF token of its form."""
    response = await client.get(path)
    html = await response.text()
    match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)
