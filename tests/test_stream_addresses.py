"""A session's stream address reaches only those its room admits: in the API, the schedule
export, the calendars and the pages."""

from __future__ import annotations

from sqlalchemy import update

from sidestage.platform.access.models import Role
from sidestage.platform.db import transaction
from sidestage.platform.program.models import Session, Visibility
from tests.helpers import bearer, guest_token, registered_token, user_with_role
from tests.rooms_world import World

CLOSED = "https://stream.example.org/closed-secret"
MEMBERS = "https://stream.example.org/members-secret"
OPEN = "https://stream.example.org/open"
# Everything a reader can fetch about the program without entering a room.
PROGRAM_PATHS = ["/api/program", "/api/program/export", "/program", "/program.ics", "/marathon"]


async def _streams(world: World) -> int:
    """Streams on the invite-only, a registered-only and the public session; the
    registered-only one's id."""
    async with transaction(world.db) as s:  # type: ignore[arg-type]
        members = await s.get(Session, world.on_site.id)
        assert members is not None
        members.visibility = Visibility.REGISTERED
        for session_id, url in (
            (world.closed.id, CLOSED),
            (world.public.id, OPEN),
            (members.id, MEMBERS),
        ):
            await s.execute(update(Session).where(Session.id == session_id).values(stream_url=url))
    return world.on_site.id


async def _everything(world: World, token: str | None, *sessions: int) -> str:
    headers = bearer(token) if token else {}
    paths = PROGRAM_PATHS + [f"/sessions/{i}" for i in sessions]
    paths += [f"/api/sessions/{i}" for i in sessions] + [f"/sessions/{i}.ics" for i in sessions]
    texts = []
    for path in paths:
        answer = await world.http.get(path, headers=headers)
        assert answer.status == 200, (path, answer.status)
        texts.append(await answer.text())
    return "\n".join(texts)


def _stream_of(program: dict, session_id: int) -> str | None:  # type: ignore[type-arg]
    return next(s["stream_url"] for s in program["sessions"] if s["id"] == session_id)


async def test_strangers_see_only_public_streams(world: World) -> None:
    members = await _streams(world)
    ids = (world.closed.id, world.public.id, members)
    anonymous = await _everything(world, None, *ids)
    guest = await _everything(world, await guest_token(world.http, "Guest"), *ids)
    for seen in (anonymous, guest):
        assert CLOSED not in seen and MEMBERS not in seen
        assert OPEN in seen  # the public session's stream still shows
    program = await (await world.http.get("/api/program")).json()
    assert _stream_of(program, world.closed.id) is None
    assert _stream_of(program, world.public.id) == OPEN


async def test_those_the_room_admits_see_its_stream(world: World) -> None:
    members = await _streams(world)
    invited = await world.invited_guest(world.closed)
    seen = await _everything(world, invited.token, world.closed.id)
    assert CLOSED in seen and MEMBERS not in seen
    registered = await _everything(world, await registered_token(world.http), members)
    assert MEMBERS in registered and CLOSED not in registered
    organizer = await user_with_role(world.db, world.http, Role.ORGANIZER)  # type: ignore[arg-type]
    export = await _everything(world, organizer)
    assert CLOSED in export and MEMBERS in export


async def test_a_bookmarked_closed_session_keeps_its_stream_hidden(world: World) -> None:
    await _streams(world)
    guest = await guest_token(world.http, "Guest")
    path = f"/api/sessions/{world.closed.id}/bookmark"
    marked = await world.http.put(path, headers=bearer(guest))
    assert marked.status == 200
    agenda = await (await world.http.get("/api/me/agenda", headers=bearer(guest))).json()
    assert [(s["id"], s["stream_url"]) for s in agenda] == [(world.closed.id, None)]
    page = await (await world.http.get("/agenda", headers=bearer(guest))).text()
    calendar = await (await world.http.get("/agenda.ics", headers=bearer(guest))).text()
    assert CLOSED not in page and CLOSED not in calendar
