"""After signing in, a visitor goes back only to a page of this site, whatever ``next`` says."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from sidestage.web.security import safe_next
from tests.helpers import PASSWORD, csrf_from, load_demo_program, registered_token

OFF_SITE = [
    "/%09/evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r/evil.example",
    "/\x00/evil.example",
    "/\x7f/evil.example",
    "/\u0085/evil.example",
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "https://evil.example",
    "http:evil.example",
    "javascript:alert(1)",
    "evil.example",
    " /evil",
    "/%2F/evil.example",
    "/%252F/evil.example",
    "/%5Cevil.example",
    "/%5cevil.example",
    "%2F%2Fevil.example",
    "/%0a/evil.example",
    "/%E2%80%A8/evil.example",
    "/\u2028/evil.example",
    "",
]
ON_SITE = ["/", "/program", "/sessions/3/room?text=1", "/program?day=2#now", "/agenda"]


@pytest.mark.parametrize("raw", OFF_SITE)
def test_off_site_addresses_fall_back_to_the_home_page(raw: str) -> None:
    assert safe_next(raw) == "/"


@pytest.mark.parametrize("raw", ON_SITE)
def test_paths_on_this_site_are_kept(raw: str) -> None:
    assert safe_next(raw) == raw


FORM_CASES = ["/%09/evil.example", "//evil.example", "/\\evil.example", "https://evil.example"]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_every_sign_in_form_refuses_to_send_visitors_away(client: TestClient) -> None:
    email = "layla@example.org"
    await registered_token(client, email)
    forms = {
        "/guest": {"name": "Guest"},
        "/login": {"email": email, "password": PASSWORD},
        "/register": {"name": "Newcomer", "password": PASSWORD},
    }
    for number, raw in enumerate(FORM_CASES):
        for path, fields in forms.items():
            token = await csrf_from(client, f"{path}?next=/agenda")
            data = {**fields, "csrf_token": token, "next": raw}
            if path == "/register":
                data["email"] = f"new{number}@example.org"
            answer = await client.post(path, data=data, allow_redirects=False)
            assert answer.status == 303, (path, raw, await answer.text())
            assert answer.headers["Location"] == "/", (path, raw)
            client.session.cookie_jar.clear_domain("127.0.0.1")
    token = await csrf_from(client, "/guest?next=/agenda")
    kept = await client.post(
        "/guest",
        data={"name": "Guest", "csrf_token": token, "next": "/agenda"},
        allow_redirects=False,
    )
    assert kept.headers["Location"] == "/agenda"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_the_forms_do_not_carry_an_off_site_next(client: TestClient) -> None:
    for path in ("/guest", "/login", "/register", "/settings"):
        page = await (await client.get(path, params={"next": "//evil.example"})).text()
        assert "evil.example" not in page, path


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_settings_and_bookmarks_stay_on_this_site(client: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    await load_demo_program(db)
    token = await csrf_from(client, "/settings")
    changed = await client.post(
        "/settings",
        data={"csrf_token": token, "language": "fr", "next": "/\\evil.example"},
        allow_redirects=False,
    )
    assert changed.status == 303 and changed.headers["Location"] == "/"
    await client.post("/guest", data={"name": "Guest", "csrf_token": token}, allow_redirects=False)
    marked = await client.post(
        "/sessions/1/bookmark",
        data={"csrf_token": token, "next": "https://evil.example"},
        allow_redirects=False,
    )
    assert marked.status == 303 and marked.headers["Location"] == "/sessions/1"
