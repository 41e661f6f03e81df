"""Guests are made without a password: a client address may make a burst of them (an office
joining together), then about one a minute, through the API and the guest page alike."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from sidestage.platform.accounts.models import Account
from sidestage.platform.settings import Settings
from sidestage.web.app import create_app
from tests.helpers import csrf_from

BURST = 20  # the default


@pytest.fixture
async def limited(settings: Settings, aiohttp_client) -> TestClient:  # type: ignore[no-untyped-def]
    """The default burst, and client addresses from X-Forwarded-For."""
    app = create_app(replace(settings, trust_proxy=True, guest_burst=BURST))
    return await aiohttp_client(app)  # type: ignore[no-any-return]


async def _accounts(db) -> int:  # type: ignore[no-untyped-def]
    async with db() as s:
        return int(await s.scalar(select(func.count()).select_from(Account)) or 0)


async def test_a_burst_of_guests_per_address_then_429(limited: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    office = {"X-Forwarded-For": "198.51.100.7"}

    async def join(number: int) -> int:
        made = await limited.post(
            "/api/auth/guest", json={"name": f"Colleague {number}"}, headers=office
        )
        return made.status

    assert await asyncio.gather(*(join(n) for n in range(BURST))) == [201] * BURST
    refused = await limited.post("/api/auth/guest", json={"name": "One more"}, headers=office)
    assert refused.status == 429
    assert (await refused.json())["error"]["code"] == "auth.guests_throttled"
    assert 1 <= int(refused.headers["Retry-After"]) <= BURST * 60
    token = await csrf_from(limited, "/guest")
    page = await limited.post(
        "/guest", data={"name": "By the form", "csrf_token": token}, headers=office
    )
    assert page.status == 429 and int(page.headers["Retry-After"]) >= 1
    assert "Too many guests joined from your network just now" in await page.text()
    assert await _accounts(db) == BURST
    elsewhere = {"X-Forwarded-For": "198.51.100.8"}
    other = await limited.post("/api/auth/guest", json={"name": "Elsewhere"}, headers=elsewhere)
    assert other.status == 201
    assert await _accounts(db) == BURST + 1
