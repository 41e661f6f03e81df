"""Every route that takes a body, fed one it cannot read (multipart without a boundary,
broken JSON, broken URL encoding, an unknown charset): a 4xx in the route's usual error
shape (JSON under /api/, the error page elsewhere), never a 500."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from sidestage.web.security import CSRF_COOKIE, CSRF_HEADER, csrf_token
from tests.helpers import bearer, guest_token

BODIES = {
    "multipart without boundary": ("multipart/form-data", b"--x\r\n\r\nnothing"),
    "multipart with a broken part": (
        "multipart/form-data; boundary=xyz",
        b"--xyz\r\nContent-Disposition: form-data\r\n\r\nno name, no end",
    ),
    "multipart unknown charset": (
        'multipart/form-data; boundary=xyz; charset="no-such-charset"',
        b'--xyz\r\nContent-Disposition: form-data; name="name"\r\n\r\nA\r\n--xyz--\r\n',
    ),
    "urlencoded invalid UTF-8": ("application/x-www-form-urlencoded", b"name=%ff%fe&next=%c0"),
    "urlencoded unknown charset": (
        "application/x-www-form-urlencoded; charset=no-such-charset",
        b"name=Amina",
    ),
    "urlencoded raw bytes": ("application/x-www-form-urlencoded", b"\xff\xfe=\x00\x81"),
    "json broken": ("application/json", b'{"name": '),
    "json invalid UTF-8": ("application/json", b'{"name": "\xff"}'),
    "json unknown charset": ("application/json; charset=no-such-charset", b'{"name": "A"}'),
    "json as UTF-16 bytes": ("application/json; charset=utf-16", b"\xff"),
    "text unknown charset": ("text/plain; charset=no-such-charset", b"hello"),
    "no content type": ("", b"\x00\xff"),
}
SECRET = "t" * 40  # the test settings' secret (conftest)


def _routes(client: TestClient) -> list[tuple[str, str]]:
    found = set()
    for route in client.app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        template = info.get("formatter") or info.get("path")
        writes = route.method in ("POST", "PUT", "PATCH", "DELETE")
        if writes and template and not template.startswith("/socket.io"):
            found.add((route.method, re.sub(r"\{[^}]+\}", "1", template)))
    return sorted(found)


def _is_error_shape(path: str, answer: Any, text: str) -> bool:
    if path.startswith("/api/"):
        return isinstance(answer, dict) and bool(answer.get("error", {}).get("code"))
    return "<!doctype html>" in text and "Traceback" not in text


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("kind", sorted(BODIES))
async def test_unreadable_bodies_are_a_4xx_on_every_route(client: TestClient, kind: str) -> None:
    token = await guest_token(client, "Sender")
    cookie = "c" * 32
    client.session.cookie_jar.update_cookies({CSRF_COOKIE: cookie})
    headers = {**bearer(token), CSRF_HEADER: csrf_token(SECRET, cookie)}
    content_type, body = BODIES[kind]
    if content_type:
        headers["Content-Type"] = content_type
    failures = []
    for method, path in _routes(client):
        answer = await client.request(method, path, data=body, headers=headers)
        text = await answer.text(errors="replace")
        shaped = _is_error_shape(path, _json(text), text)
        if answer.status >= 500 or (answer.status >= 400 and not shaped):
            failures.append((method, path, answer.status, text[:200]))
    assert failures == []


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None
