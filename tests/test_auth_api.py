"""Signing in through the API: guests, registration, login, tokens, throttling."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from tests.helpers import PASSWORD, bearer, guest_token, registered_token


async def test_guest_gets_a_token_that_opens_the_api(client: TestClient) -> None:
    token = await guest_token(client, "  Fatima   Zahra ")
    me = await client.get("/api/me", headers=bearer(token))
    assert me.status == 200
    body = await me.json()
    assert body["name"] == "Fatima Zahra" and body["guest"] is True and body["email"] is None


async def test_register_then_login(client: TestClient) -> None:
    await registered_token(client, "Moderator@Example.org")
    response = await client.post(
        "/api/auth/login", json={"email": "moderator@example.org", "password": PASSWORD}
    )
    assert response.status == 200
    token = (await response.json())["token"]
    me = await (await client.get("/api/me", headers=bearer(token))).json()
    assert me["email"] == "moderator@example.org" and me["guest"] is False


async def test_wrong_password_and_unknown_email_look_the_same(client: TestClient) -> None:
    await registered_token(client, "known@example.org")
    answers = []
    for email in ("known@example.org", "nobody@example.org"):
        response = await client.post("/api/auth/login", json={"email": email, "password": "x" * 12})
        answers.append((response.status, (await response.json())["error"]["code"]))
    assert answers == [(401, "auth.invalid_credentials")] * 2


async def test_email_taken_and_weak_password(client: TestClient) -> None:
    await registered_token(client, "taken@example.org")
    again = {"email": "TAKEN@example.org", "password": PASSWORD, "name": "Again"}
    response = await client.post("/api/auth/register", json=again)
    assert response.status == 409
    assert (await response.json())["error"]["code"] == "auth.email_taken"
    weak = {"email": "new@example.org", "password": "short", "name": "New"}
    response = await client.post("/api/auth/register", json=weak)
    assert (await response.json())["error"]["code"] == "auth.weak_password"


async def test_login_is_throttled(client: TestClient) -> None:
    body = {"email": "victim@example.org", "password": "guess-guess-guess"}
    statuses = [(await client.post("/api/auth/login", json=body)).status for _ in range(12)]
    assert statuses[:10] == [401] * 10
    assert statuses[10:] == [429, 429]
    last = await client.post("/api/auth/login", json=body)
    assert int(last.headers["Retry-After"]) >= 1
    assert (await last.json())["error"]["code"] == "auth.throttled"


async def test_logout_ends_the_token(client: TestClient) -> None:
    token = await guest_token(client)
    assert (await client.post("/api/auth/logout", headers=bearer(token))).status == 200
    response = await client.get("/api/me", headers=bearer(token))
    assert response.status == 401
    assert (await response.json())["error"]["code"] == "auth.sign_in_required"


async def test_unknown_and_forged_tokens_are_refused(client: TestClient) -> None:
    for token in ("nonsense", "x" * 5000, ""):
        response = await client.get("/api/me", headers=bearer(token))
        assert response.status == 401


async def test_program_and_openapi(client: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    from tests.helpers import load_demo_program

    await load_demo_program(db)
    program = await (await client.get("/api/program")).json()
    assert len(program["sessions"]) == 42
    first = program["sessions"][0]
    for key in ("id", "title", "kind", "starts_at", "ends_at", "visibility", "languages"):
        assert key in first
    assert first["starts_at"].endswith("Z") or first["starts_at"].endswith("+00:00")
    spec = await (await client.get("/api/openapi.json")).json()
    assert spec["openapi"].startswith("3.")
    for path in ("/api/auth/guest", "/api/auth/login", "/api/program", "/api/roles"):
        assert path in spec["paths"]
    assert "GuestIn" in spec["components"]["schemas"]
