"""Every API endpoint, fed malformed input: a 4xx JSON error, never a 500, nothing written.

The endpoints come from the API's own registry, so a new endpoint is covered the
day it is added. Payloads are generated with hypothesis.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from sidestage.platform.access.models import Invite, RoleGrant
from sidestage.platform.accounts.models import Account
from sidestage.platform.program.models import Bookmark, Session
from sidestage.platform.settings import Settings
from sidestage.web.api import api
from tests.live import LiveServer

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=8,
)
IDS = st.sampled_from(["0", "2147483648", "99999999999999999999", "123456"])
CODES = st.text(min_size=1, max_size=80).map(lambda t: quote(t, safe=""))
ROUTES = [spec for spec, _ in api.routes]


@pytest.fixture
def server(settings: Settings) -> Iterator[LiveServer]:
    with LiveServer(settings) as live:
        yield live


def _organizer_token(server: LiveServer) -> str:
    """A signed-in organizer, so requests reach validation and services, not just the guards."""
    from sidestage.platform.access.models import Role
    from sidestage.platform.db import create_engine, session_factory, transaction
    from sidestage.platform.demo import load_demo

    status, body = server.request(
        "POST",
        "/api/auth/register",
        json.dumps(
            {"email": "org@example.org", "password": "long enough pw", "name": "Org"}
        ).encode(),
        {"Content-Type": "application/json"},
    )
    assert status == 201, body

    async def promote() -> None:
        engine = create_engine(server.settings.database_url)
        async with transaction(session_factory(engine)) as db:
            account = await db.scalar(select(Account).where(Account.email == "org@example.org"))
            db.add(RoleGrant(account_id=account.id, role=Role.ORGANIZER))  # type: ignore[union-attr]
            await load_demo(db)
        await engine.dispose()

    server.run(promote())
    return str(body["token"])


def _counts(server: LiveServer) -> dict[str, int]:
    from sidestage.platform.db import create_engine

    async def count() -> dict[str, int]:
        engine = create_engine(server.settings.database_url)
        async with engine.connect() as connection:
            found = {
                model.__tablename__: int(
                    await connection.scalar(select(func.count()).select_from(model)) or 0
                )
                for model in (Account, Session, Invite, RoleGrant, Bookmark)
            }
        await engine.dispose()
        return found

    return server.run(count())


def _path(template: str, data: st.DataObject) -> str:
    path = template
    if "{id}" in path:
        path = path.replace("{id}", data.draw(IDS))
    if "{code}" in path:
        path = path.replace("{code}", data.draw(CODES))
    return path


def _body(spec: Any, data: st.DataObject) -> bytes:
    if spec.body is not None and data.draw(st.booleans()):
        fields = {name: JSON for name in spec.body.model_fields}
        value = data.draw(st.fixed_dictionaries({}, optional=fields))
        return json.dumps(value).encode()
    if data.draw(st.booleans()):
        return json.dumps(data.draw(JSON)).encode()
    return data.draw(st.binary(max_size=200))


@pytest.mark.parametrize("spec", ROUTES, ids=lambda s: f"{s.method} {s.path}")
def test_bad_input_gets_a_clear_error(server: LiveServer, spec: Any) -> None:
    token = _organizer_token(server)
    before = _counts(server)

    @settings(
        max_examples=25,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(data=st.data())
    def probe(data: st.DataObject) -> None:
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": data.draw(st.sampled_from(["application/json", "text/plain"])),
        }
        body = _body(spec, data) if spec.method in ("POST", "PUT") else None
        status, answer = server.request(spec.method, _path(spec.path, data), body, headers)
        assert status < 500, answer
        if status >= 400:
            assert isinstance(answer, dict) and answer["error"]["code"], answer
            assert "Traceback" not in json.dumps(answer)

    probe()
    after = _counts(server)
    # Only a well-formed guest sign-up may create something by chance; nothing else changes.
    if spec.path != "/api/auth/guest":
        assert after == before


def test_oversized_body_is_refused(server: LiveServer) -> None:
    token = _organizer_token(server)
    status, answer = server.request(
        "POST",
        "/api/program/import",
        b"[" * (6 * 1024 * 1024),
        {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert status == 413 and answer["error"]["code"] == "request.too_large"


def test_long_strings_are_refused(server: LiveServer) -> None:
    status, answer = server.request(
        "POST",
        "/api/auth/guest",
        json.dumps({"name": "x" * 10_000}).encode(),
        {"Content-Type": "application/json"},
    )
    assert status == 400 and answer["error"]["code"] == "request.invalid"
