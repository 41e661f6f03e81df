"""Every live-room command, fed malformed payloads, wrong types, oversized strings, unknown
ids and replays (generated with hypothesis): always a clean error ack, never
``server.error``, and the server keeps serving."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from sidestage.platform.access.models import Role, RoleGrant
from sidestage.platform.accounts.models import Account
from sidestage.platform.program.models import Session
from sidestage.platform.settings import Settings
from sidestage.rooms.handlers import registry
from tests.live import Client, LiveServer

CODE = re.compile(r"^[a-z_]+\.[a-z_]+$")
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
ODD = (
    st.integers(min_value=-(2**63), max_value=2**63)
    | st.text(min_size=3000, max_size=6000)
    | st.just(None)
    | st.just([])
    | st.just({})
    | st.booleans()
    | JSON
)


@pytest.fixture
def server(settings: Settings) -> Iterator[LiveServer]:
    with LiveServer(settings) as live:
        yield live


def _organizers(server: LiveServer, count: int) -> tuple[list[Client], int]:
    """Signed-in organizers (several, each within the flood limit) inside one live room."""
    from sidestage.platform.db import create_engine, session_factory, transaction
    from sidestage.platform.demo import load_demo

    tokens = []
    for n in range(count):
        status, body = server.request(
            "POST",
            "/api/auth/guest",
            b'{"name": "Org %d"}' % n,
            {"Content-Type": "application/json"},
        )
        assert status == 201
        tokens.append(body["token"])

    async def prepare() -> int:
        engine = create_engine(server.settings.database_url)
        async with transaction(session_factory(engine)) as db:
            await load_demo(db)
            for account in await db.scalars(select(Account)):
                db.add(RoleGrant(account_id=account.id, role=Role.ORGANIZER))
            room = await db.scalar(
                select(Session.id)
                .where(Session.visibility == "public", Session.kind == "side_event")
                .limit(1)
            )
        await engine.dispose()
        return int(room or 0)

    room = server.run(prepare())
    clients = [server.run(Client(f"http://127.0.0.1:{server.port}", t).connect()) for t in tokens]
    for client in clients:
        assert server.run(client.call("room.enter", {"session_id": room}))["ok"]
    return clients, room


def _payload(command: str, data: st.DataObject, room: int) -> Any:
    model = registry.commands[command].payload
    shape = data.draw(st.sampled_from(["junk", "fields", "near"]))
    if shape == "junk" or not model.model_fields:
        return data.draw(JSON)
    fields = {name: ODD for name in model.model_fields}
    if shape == "fields":
        return data.draw(st.fixed_dictionaries({}, optional=fields))
    # Nearly right: a real room, then one field made odd or an id nobody has.
    value: dict[str, Any] = {"session_id": room} if "session_id" in model.model_fields else {}
    name = data.draw(st.sampled_from(sorted(model.model_fields)))
    value[name] = data.draw(ODD | st.sampled_from([0, 999_999, 2**31, -1]))
    return value


def _probe(server: LiveServer, clients: list[Client], room: int, command: str) -> None:
    turn = iter(range(10**6))

    @settings(
        max_examples=25,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(data=st.data())
    def probe(data: st.DataObject) -> None:
        client = clients[next(turn) % len(clients)]
        payload = _payload(command, data, room)
        answer = server.run(client.call(command, payload))
        assert isinstance(answer, dict) and isinstance(answer.get("ok"), bool), answer
        if not answer["ok"]:
            assert CODE.match(answer["error"]["code"]), answer
            assert answer["error"]["code"] != "server.error", (command, payload, answer)

    probe()


def test_malformed_commands_get_clean_errors(server: LiveServer) -> None:
    clients, room = _organizers(server, 6)
    try:
        for command in sorted(registry.commands):
            _probe(server, clients, room, command)
        # Still serving, to someone new (the fuzzing may have flood-limited, muted or
        # removed the organizers); replays of valid commands are answered cleanly too.
        status, body = server.request(
            "POST", "/api/auth/guest", b'{"name": "Newcomer"}', {"Content-Type": "application/json"}
        )
        assert status == 201
        fresh = server.run(Client(f"http://127.0.0.1:{server.port}", body["token"]).connect())
        clients.append(fresh)
        entered = server.run(fresh.call("room.enter", {"session_id": room}))
        assert entered["ok"], entered
        for _ in range(2):
            message = {"session_id": room, "text": "again", "client_id": "replay-1"}
            sent = server.run(fresh.call("chat.send", message))
            assert sent["ok"], sent
            upvote = server.run(fresh.call("qa.upvote", {"question_id": 1}))
            assert upvote["ok"] or upvote["error"]["code"] != "server.error"
    finally:
        for client in clients:
            server.run(client.close())
