"""The authorization matrix: every command, every role. Allowed roles succeed; every
other role gets ``<feature>.forbidden`` and nothing in the database changes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from sidestage.platform.access.models import Role
from sidestage.realtime import dispatch
from sidestage.rooms import models as room_tables
from sidestage.rooms.handlers import registry
from tests.helpers import guest_token, user_with_role
from tests.live import Client
from tests.rooms_world import World

PARTICIPANTS = {"invited", "speaker", "captioner", "moderator", "host", "organizer"}
MODERATORS = {"moderator", "host", "organizer"}
EVERYONE = PARTICIPANTS | {"outsider", "member", "other_moderator"}
TABLES = [getattr(room_tables, name) for name in room_tables.__all__]
NO_MEDIA = "0" * 32  # a well-formed publication or watch id that names nothing


async def _people(world: World) -> dict[str, Client]:
    s = world.closed
    other = world.public
    return {
        "outsider": await world.guest("Outsider"),
        "member": await world.with_role(Role.SPEAKER, session_id=other.id),  # registered, not here
        "invited": await world.invited_guest(s),
        "speaker": await world.with_role(Role.SPEAKER, session_id=s.id),
        "captioner": await world.with_role(Role.CAPTIONER, session_id=s.id),
        "moderator": await world.with_role(Role.MODERATOR, session_id=s.id),
        "other_moderator": await world.with_role(Role.MODERATOR, session_id=other.id),
        "host": await world.with_role(Role.HOST, organization_id=s.host_organization_id),
        "organizer": await world.with_role(Role.ORGANIZER),
    }


async def _counts(world: World) -> dict[str, int]:
    async with world.db() as s:  # type: ignore[attr-defined]
        return {
            t.__tablename__: int(await s.scalar(select(func.count()).select_from(t)) or 0)
            for t in TABLES
        }


class Fixtures:
    """Fresh things for each call to act on, made by the organizer."""

    def __init__(self, world: World, pool: list[Client]) -> None:
        # Several connections, each within the per-connection flood limit.
        self.world, self.pool, self.turn = world, pool, 0
        self.room = {"session_id": world.closed.id}

    @property
    def organizer(self) -> Client:
        self.turn += 1
        return self.pool[self.turn % len(self.pool)]

    @property
    def moderator(self) -> Client:
        return self.organizer

    async def poll(self, opened: bool) -> int:
        made = await self.organizer.ok(
            "poll.create", {**self.room, "question": "?", "options": ["a", "b"]}
        )
        if opened:
            await self.organizer.ok("poll.open", {"poll_id": made["poll_id"]})
        return int(made["poll_id"])

    async def someone(self) -> int:
        token = await guest_token(self.world.http, "Target")
        me = await self.world.http.get("/api/me", headers={"Authorization": f"Bearer {token}"})
        return int((await me.json())["id"])

    async def speaker(self) -> int:
        token = await user_with_role(
            self.world.db,  # type: ignore[arg-type]
            self.world.http,
            Role.SPEAKER,  # type: ignore[arg-type]
            session_id=self.world.closed.id,
        )
        me = await self.world.http.get("/api/me", headers={"Authorization": f"Bearer {token}"})
        return int((await me.json())["id"])

    async def own_message(self, caller: Client) -> int:
        answer = await caller.call("chat.send", {**self.room, "text": "mine"})
        if answer["ok"]:
            return int(answer["data"]["id"])
        return int((await self.moderator.ok("chat.send", {**self.room, "text": "theirs"}))["id"])

    async def own_question(self, caller: Client) -> int:
        answer = await caller.call("qa.ask", {**self.room, "text": "mine?"})
        if answer["ok"]:
            return int(answer["data"]["question_id"])
        return int(
            (await self.moderator.ok("qa.ask", {**self.room, "text": "theirs?"}))["question_id"]
        )

    async def question(self) -> int:
        return int(
            (await self.moderator.ok("qa.ask", {**self.room, "text": "upvote me"}))["question_id"]
        )


Payload = Callable[[Fixtures, Client], Awaitable[dict[str, Any]]]


async def _room(f: Fixtures, c: Client) -> dict[str, Any]:
    return dict(f.room)


async def _poll_draft(f: Fixtures, c: Client) -> dict[str, Any]:
    return {"poll_id": await f.poll(opened=False)}


async def _poll_open(f: Fixtures, c: Client) -> dict[str, Any]:
    return {"poll_id": await f.poll(opened=True)}


async def _vote(f: Fixtures, c: Client) -> dict[str, Any]:
    return {"poll_id": await f.poll(opened=True), "choices": [0]}


async def _target(f: Fixtures, c: Client) -> dict[str, Any]:
    return {**f.room, "account_id": await f.someone()}


CASES: dict[str, tuple[set[str], Payload]] = {
    "room.enter": (PARTICIPANTS, _room),
    "room.leave": (EVERYONE, _room),
    "room.remove": (MODERATORS, _target),
    "marathon.watch": (EVERYONE, lambda f, c: _const({})),
    "chat.send": (PARTICIPANTS, lambda f, c: _const({**f.room, "text": "hello"})),
    "chat.history": (PARTICIPANTS, _room),
    "chat.delete": (PARTICIPANTS, lambda f, c: _wrap(f.own_message(c), "message_id")),
    "chat.mute": (MODERATORS, _target),
    "chat.unmute": (MODERATORS, _target),
    "chat.slow_mode": (MODERATORS, lambda f, c: _const({**f.room, "seconds": 0})),
    "poll.create": (
        MODERATORS,
        lambda f, c: _const({**f.room, "question": "?", "options": ["a", "b"]}),
    ),
    "poll.open": (MODERATORS, _poll_draft),
    "poll.close": (MODERATORS, _poll_open),
    "poll.vote": (PARTICIPANTS, _vote),
    "qa.ask": (PARTICIPANTS, lambda f, c: _const({**f.room, "text": "A question?"})),
    "qa.upvote": (PARTICIPANTS, lambda f, c: _wrap(f.question(), "question_id")),
    "qa.withdraw": (PARTICIPANTS, lambda f, c: _wrap(f.own_question(c), "question_id")),
    "qa.moderate": (MODERATORS, lambda f, c: _wrap(f.question(), "question_id", action="pin")),
    "qa.queue": (MODERATORS, lambda f, c: _const({**f.room, "moderated": False})),
    "tool.launch": (
        MODERATORS,
        lambda f, c: _const({**f.room, "title": "T", "url": "https://t.org"}),
    ),
    "caption.send": (
        MODERATORS | {"captioner"},
        lambda f, c: _const(
            {**f.room, "language": f.world.closed.caption_languages[0], "text": "Hello"}
        ),
    ),
    "stage.put_on": (MODERATORS, lambda f, c: _wrap(f.speaker(), "account_id", **f.room)),
    "stage.take_off": (MODERATORS, _target),
    "stage.publish": (
        PARTICIPANTS,
        lambda f, c: _const({**f.room, "source": "camera", "sdp": "v=0"}),
    ),
    "stage.unpublish": (PARTICIPANTS, lambda f, c: _const({**f.room, "publication_id": NO_MEDIA})),
    "stage.watch": (PARTICIPANTS, lambda f, c: _const({**f.room, "publication_id": NO_MEDIA})),
    "stage.answer": (
        PARTICIPANTS,
        lambda f, c: _const({**f.room, "watch_id": NO_MEDIA, "sdp": "v=0"}),
    ),
    "stage.leave": (PARTICIPANTS, lambda f, c: _const({**f.room, "watch_id": NO_MEDIA})),
    "stage.take_over": (
        PARTICIPANTS,
        lambda f, c: _const({**f.room, "publication_id": NO_MEDIA}),
    ),
    "stage.listen": (
        PARTICIPANTS,
        lambda f, c: _const({**f.room, "watch_id": NO_MEDIA, "language": None}),
    ),
}
# Past the permission check, what an allowed caller may still be told: the media these
# payloads name does not exist, and no one in the matrix is on stage.
ALLOWED_REFUSALS = {
    "stage.publish": "stage.not_on_stage",
    "stage.unpublish": "stage.not_found",
    "stage.watch": "stage.not_found",
    "stage.answer": "stage.not_found",
    "stage.leave": "stage.not_found",
    "stage.take_over": "stage.not_found",
    "stage.listen": "stage.not_found",
}


async def _const(value: dict[str, Any]) -> dict[str, Any]:
    return value


async def _wrap(made: Awaitable[int], key: str, **more: Any) -> dict[str, Any]:
    return {key: await made, **more}


def test_every_command_is_in_the_matrix() -> None:
    assert set(CASES) == set(registry.commands)


async def test_authorization_matrix(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    # Each person sends every command in a few seconds: more than the flood limit allows,
    # which is not what this test is about.
    monkeypatch.setattr(dispatch, "FLOOD", (1000, 5.0))
    people = await _people(world)
    for client in people.values():
        await client.call("room.enter", {"session_id": world.closed.id})
    pool = [await world.with_role(Role.ORGANIZER) for _ in range(8)]
    for member in pool:
        await member.ok("room.enter", {"session_id": world.closed.id})
    fixtures = Fixtures(world, pool)
    problems = []
    for command, (allowed, payload) in CASES.items():
        feature = command.split(".")[0]
        for role, caller in people.items():
            body = await payload(fixtures, caller)
            before = await _counts(world)
            answer = await caller.call(command, body)
            refused_as_expected = answer.get("error", {}).get("code") == ALLOWED_REFUSALS.get(
                command
            )
            if role in allowed and not answer["ok"] and not refused_as_expected:
                problems.append(f"{role} refused {command}: {answer['error']}")
            if role not in allowed:
                if answer["ok"] or answer["error"]["code"] != f"{feature}.forbidden":
                    problems.append(f"{role} not refused {command}: {answer}")
                elif await _counts(world) != before:
                    problems.append(f"{role} {command} was refused but changed the database")
        if command == "room.leave":
            for client in people.values():
                await client.call("room.enter", {"session_id": world.closed.id})
    assert problems == [], "\n".join(problems)
