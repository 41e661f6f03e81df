"""A launched tool is part of its room: its counted link admits whom the room admits, and
only addresses its redirect can follow are launched at all."""

from __future__ import annotations

from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from sidestage.platform.access.models import Role
from sidestage.platform.db import transaction
from sidestage.platform.program.models import Session, Visibility
from sidestage.platform.text import is_web_url
from sidestage.rooms.tools.models import Tool, ToolClick
from tests.helpers import bearer, guest_token
from tests.rooms_world import World

REFUSED_URLS = [
    "https://example.org\\@evil.example",
    "https://evil.example\\.example.org/",
    "https://example.org/a\\b",
    "https:\\\\evil.example",
    "https://trusted.example@evil.example/",
    "https://exa mple.org/",
    "https://example.org/\tx",
    "https://example.org:99999/",
    "https://[::1/",
    "javascript:alert(1)",
    "//evil.example",
    "https://",
]


async def _clicks(world: World) -> int:
    async with world.db() as s:  # type: ignore[attr-defined]
        return int(await s.scalar(select(func.count()).select_from(ToolClick)) or 0)


async def _launch(world: World, session: Session) -> str:
    host = await world.with_role(Role.HOST, organization_id=session.host_organization_id)
    await host.ok(
        "tool.launch",
        {"session_id": session.id, "title": "Kit", "url": "https://example.org/kit"},
    )
    async with world.db() as s:  # type: ignore[attr-defined]
        tool_id = await s.scalar(select(Tool.id).where(Tool.session_id == session.id))
    return f"/tools/{tool_id}/go"


async def _both(world: World, path: str, session: Session, token: str | None) -> tuple[int, int]:
    """The statuses of the tool's link and of its room's page, for the same person."""
    headers = bearer(token) if token else {}
    link = await world.http.get(path, headers=headers, allow_redirects=False)
    page = await world.http.get(
        f"/sessions/{session.id}/room", headers=headers, allow_redirects=False
    )
    return link.status, page.status


async def test_an_invite_only_rooms_tool_admits_only_the_invited(world: World) -> None:
    link = await _launch(world, world.closed)
    anonymous = await world.http.get(link, allow_redirects=False)
    assert anonymous.status == 303
    assert anonymous.headers["Location"] == f"/login?next={link}"
    uninvited = await guest_token(world.http, "Outsider")
    assert await _both(world, link, world.closed, uninvited) == (403, 403)
    assert await _clicks(world) == 0
    invited = await world.invited_guest(world.closed)
    followed = await world.http.get(link, headers=bearer(invited.token), allow_redirects=False)
    assert followed.status == 302 and followed.headers["Location"] == "https://example.org/kit"
    assert await _clicks(world) == 1


async def test_a_registered_only_rooms_tool_refuses_guests_like_the_room(world: World) -> None:
    async with transaction(world.db) as s:  # type: ignore[arg-type]
        await s.execute(
            update(Session)
            .where(Session.id == world.public.id)
            .values(visibility=Visibility.REGISTERED)
        )
    link = await _launch(world, world.public)
    guest = await guest_token(world.http, "Guest")
    assert await _both(world, link, world.public, guest) == (303, 303)
    assert await _clicks(world) == 0
    member = await world.with_role(Role.SPEAKER, session_id=world.public.id)
    followed = await world.http.get(link, headers=bearer(member.token), allow_redirects=False)
    assert followed.status == 302
    assert await _clicks(world) == 1


async def test_launch_refuses_what_the_redirect_could_not_follow(world: World) -> None:
    room = {"session_id": world.public.id}
    host = await world.with_role(Role.HOST, organization_id=world.public.host_organization_id)
    for url in REFUSED_URLS:
        refused = await host.call("tool.launch", {**room, "title": "Kit", "url": url})
        assert refused["ok"] is False and refused["error"]["code"] == "tool.bad_url", url
    async with world.db() as s:  # type: ignore[attr-defined]
        assert await s.scalar(select(func.count()).select_from(Tool)) == 0


async def test_a_stored_tool_with_a_bad_address_is_refused_not_a_500(world: World) -> None:
    async with transaction(world.db) as s:  # type: ignore[arg-type]
        tool = Tool(session_id=world.public.id, title="Old", url="https://example.org\\@evil")
        s.add(tool)
        await s.flush()
        path = f"/tools/{tool.id}/go"
    answer = await world.http.get(path, allow_redirects=False)
    assert answer.status == 400 and "without spaces or backslashes" in await answer.text()
    assert await _clicks(world) == 0


def test_the_refused_addresses_fail_the_one_check() -> None:
    assert [url for url in REFUSED_URLS if is_web_url(url)] == []


URL_PARTS = st.text(alphabet="ab1.-_@:[]\\/%?#=& \t\nمé\u2028\x7f", max_size=14)


@given(st.sampled_from(["http://", "https://", "HTTPS://", "https:", ""]), URL_PARTS, URL_PARTS)
def test_every_address_launch_accepts_can_be_redirected_to(
    scheme: str, host: str, rest: str
) -> None:
    url = f"{scheme}{host}{rest}"
    if is_web_url(url):
        web.HTTPFound(url)  # raises ValueError for what aiohttp cannot send
