"""Password hashing neither stalls the process nor lets a guesser lock the owner out."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from argon2 import PasswordHasher

from sidestage.platform.accounts import service as accounts
from sidestage.platform.settings import Settings
from sidestage.web.app import create_app
from tests.helpers import PASSWORD
from tests.live import LiveServer

WRONG_LOGINS = 8
ANSWERED_WITHIN = 1.0  # seconds for /healthz while they run
# A hash to check unknown emails against that takes about a second and a half on the
# test machine (several times the default's cost): a hash on the event loop would then
# hold /healthz longer than it may wait, whichever moment it arrives at.
SLOW = PasswordHasher(time_cost=12)


@pytest.fixture
def server(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveServer]:
    monkeypatch.setattr(accounts, "DUMMY_HASH", SLOW.hash("sidestage-timing-equaliser"))
    with LiveServer(settings) as live:  # its own thread and event loop, as in production
        yield live


# On PostgreSQL, as in production: the logins' queries come back together, so hashes on the
# event loop would run back to back and hold everything else. SQLite hands results back one
# at a time, which hides the stall between them.
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_wrong_logins_in_parallel_do_not_stall_the_event_loop(server: LiveServer) -> None:
    url = f"http://127.0.0.1:{server.port}"
    async with aiohttp.ClientSession(url) as http:

        async def wrong_login(number: int) -> int:
            body = {"email": f"nobody{number}@example.org", "password": "not the password"}
            async with http.post("/api/auth/login", json=body) as answer:
                return answer.status

        logins = [asyncio.create_task(wrong_login(n)) for n in range(WRONG_LOGINS)]
        # Once one is answered the server is hashing the others: ask then.
        await asyncio.wait(logins, return_when=asyncio.FIRST_COMPLETED)

        async def health() -> int:
            async with http.get("/healthz") as answer:
                return answer.status

        assert await asyncio.wait_for(health(), ANSWERED_WITHIN) == 200
        still_hashing = sum(not login.done() for login in logins)
        assert still_hashing > 0  # /healthz was answered while the logins ran
        assert await asyncio.gather(*logins) == [401] * WRONG_LOGINS


@pytest.fixture
async def behind_proxy(settings: Settings, aiohttp_client) -> TestClient:  # type: ignore[no-untyped-def]
    """Client addresses come from X-Forwarded-For, so one test plays several places."""
    return await aiohttp_client(create_app(replace(settings, trust_proxy=True)))  # type: ignore[no-any-return]


def _from(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_guesser_elsewhere_does_not_lock_the_owner_out(behind_proxy: TestClient) -> None:
    http, email = behind_proxy, "owner@example.org"
    made = await http.post(
        "/api/auth/register",
        json={"email": email, "password": PASSWORD, "name": "Owner"},
        headers=_from("192.0.2.10"),
    )
    assert made.status == 201
    guess = {"email": email, "password": "guess-guess-guess"}

    async def attempt() -> aiohttp.ClientResponse:
        return await http.post("/api/auth/login", json=guess, headers=_from("203.0.113.66"))

    answers = await asyncio.gather(*(attempt() for _ in range(14)))
    assert Counter(a.status for a in answers) == {401: 10, 429: 4}
    refused = next(a for a in answers if a.status == 429)
    assert (await refused.json())["error"]["code"] == "auth.throttled"
    assert int(refused.headers["Retry-After"]) >= 1
    owner = {"email": email, "password": PASSWORD}
    signed_in = await http.post("/api/auth/login", json=owner, headers=_from("192.0.2.10"))
    assert signed_in.status == 200, await signed_in.text()
    from_the_guessers_place = await http.post(
        "/api/auth/login", json=owner, headers=_from("203.0.113.66")
    )
    assert from_the_guessers_place.status == 429
