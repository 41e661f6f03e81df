"""The room page, the moderators' console and the static files they load, over HTTP."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

from aiohttp.test_utils import TestClient

from sidestage.platform.access.models import Role
from tests.helpers import bearer, guest_token, user_with_role
from tests.rooms_world import make_world

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "sidestage" / "static"


async def _asset_urls(client: TestClient, page: str, headers: dict[str, str]) -> list[str]:
    html = await (await client.get(page, headers=headers)).text()
    return re.findall(r'(?:href|src)="(/static/[^"]+)"', html)


async def test_static_files_are_compressed_versioned_and_cached_for_good(client, db) -> None:  # type: ignore[no-untyped-def]
    world = await make_world(client, db)
    token = await guest_token(client)
    urls = await _asset_urls(client, f"/sessions/{world.public.id}/room", bearer(token))
    assert any(u.endswith("/vendor/socket.io.esm.min.js") for u in urls)  # preloaded, not chained
    assert any(u.endswith("/js/chat.js") for u in urls)
    for url in urls:
        answer = await client.get(url, headers={"Accept-Encoding": "gzip"}, auto_decompress=False)
        assert answer.status == 200, url
        assert answer.headers["Content-Encoding"] == "gzip"
        assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        name = url.split("/", 3)[3]
        assert gzip.decompress(await answer.read()) == (STATIC / name).read_bytes()
    plain = await client.get(urls[0], headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    stale = await client.get("/static/0000000000/site.css")  # a page from before a deploy
    assert stale.status == 200 and stale.headers["Cache-Control"] == "no-cache"
    missing = await client.get(urls[0].rsplit("/", 1)[0] + "/nope.js")
    assert missing.status == 404


async def test_pages_are_compressed(client, db) -> None:  # type: ignore[no-untyped-def]
    await make_world(client, db)
    answer = await client.get("/program", headers={"Accept-Encoding": "gzip"})
    assert answer.headers["Content-Encoding"] == "gzip"
    assert "<html" in await answer.text()


def test_the_vendored_socket_io_client_is_the_pinned_release_with_its_licence() -> None:
    pinned = re.search(
        r"^VERSION=(\S+)$", (ROOT / "scripts" / "vendor-socket.io").read_text(), re.M
    )
    assert pinned is not None
    bundle = (STATIC / "vendor" / "socket.io.esm.min.js").read_text()
    assert bundle.startswith(f"/*!\n * Socket.IO v{pinned.group(1)}\n")
    assert "MIT" in (STATIC / "vendor" / "socket.io.LICENSE").read_text()


async def test_anonymous_visitors_are_offered_a_way_in(client, db) -> None:  # type: ignore[no-untyped-def]
    world = await make_world(client, db)
    public = await (await client.get(f"/sessions/{world.public.id}/room")).text()
    assert 'action="/guest"' in public and f'value="/sessions/{world.public.id}/room"' in public
    assert "data-room" not in public
    closed = await (await client.get(f"/sessions/{world.closed.id}/room")).text()
    assert "invited participants only" in closed and 'action="/guest"' not in closed


async def test_the_room_admits_whom_the_session_admits(client, db) -> None:  # type: ignore[no-untyped-def]
    world = await make_world(client, db)
    guest = bearer(await guest_token(client))
    entered = await client.get(f"/sessions/{world.public.id}/room", headers=guest)
    html = await entered.text()
    assert entered.status == 200 and f'data-room="{world.public.id}"' in html
    assert 'data-part="chat-form"' in html and 'data-part="poll-form"' not in html
    config = json.loads(re.search(r'id="sidestage-config">(.*?)</script>', html).group(1))  # type: ignore[union-attr]
    assert config["account_id"] > 0 and config["zone"]
    refused = await client.get(f"/sessions/{world.closed.id}/room", headers=guest)
    assert refused.status == 403
    assert "invited participants only" in await refused.text()
    on_site = await client.get(f"/sessions/{world.on_site.id}/room", headers=guest)
    assert on_site.status == 404


async def test_moderators_get_controls_and_the_console(client, db) -> None:  # type: ignore[no-untyped-def]
    world = await make_world(client, db)
    host = bearer(
        await user_with_role(
            db, client, Role.HOST, organization_id=world.closed.host_organization_id
        )
    )
    room = await (await client.get(f"/sessions/{world.closed.id}/room", headers=host)).text()
    assert 'data-part="poll-form"' in room and f'href="/moderate/{world.closed.id}"' in room
    console = await client.get(f"/moderate/{world.closed.id}", headers=host)
    assert console.status == 200 and "data-console" in await console.text()
    other = await client.get(f"/moderate/{world.public.id}", headers=host)  # not their session
    assert other.status == 403
    guest = bearer(await guest_token(client))
    assert (await client.get(f"/moderate/{world.public.id}", headers=guest)).status == 403
    anonymous = await client.get(f"/moderate/{world.public.id}", allow_redirects=False)
    assert anonymous.headers["Location"] == f"/login?next=/moderate/{world.public.id}"
    assert (await client.get("/moderate", headers=guest)).status == 404


async def test_the_parallel_console_shows_every_room_of_a_slot(client, db) -> None:  # type: ignore[no-untyped-def]
    world = await make_world(client, db)
    organizer = bearer(await user_with_role(db, client, Role.ORGANIZER))
    html = await (await client.get("/moderate", headers=organizer)).text()
    slots = re.findall(r'href="/moderate\?at=(\w+)"', html)
    rooms = []
    for slot in slots:
        wave = await (await client.get(f"/moderate?at={slot}", headers=organizer)).text()
        rooms.append([int(i) for i in re.findall(r'data-room="(\d+)"', wave)])
    assert [len(r) for r in rooms] == [1, 3, 3, 3, 3, 3]  # the opening, then five waves
    assert world.public.id in sum(rooms, []) and world.closed.id in sum(rooms, [])


async def test_text_only_mode_is_chosen_and_remembered(client, db) -> None:  # type: ignore[no-untyped-def]
    world = await make_world(client, db)
    guest = bearer(await guest_token(client))
    path = f"/sessions/{world.public.id}/room"
    chosen = await client.get(f"{path}?text=1", headers=guest)
    assert 'class="room text-only"' in await chosen.text()
    assert chosen.cookies["sidestage_text_only"].value == "1"
    kept = await (await client.get(path, headers=guest)).text()
    assert 'class="room text-only"' in kept
    back = await (await client.get(f"{path}?text=0", headers=guest)).text()
    assert 'class="room"' in back


async def test_the_marathon_board_offers_one_click_entry_with_counts(client, db) -> None:  # type: ignore[no-untyped-def]
    await make_world(client, db)
    html = await (await client.get("/marathon")).text()
    joins = re.findall(r'<a class="button" href="/sessions/(\d+)/room">', html)
    counts = re.findall(r'data-count-for="(\d+)">People here: 0<', html)
    assert joins and sorted(joins) == sorted(counts)


async def test_the_browser_code_speaks_the_page_language(client, db) -> None:  # type: ignore[no-untyped-def]
    world = await make_world(client, db)
    guest = bearer(await guest_token(client))
    html = await (
        await client.get(f"/sessions/{world.public.id}/room?lang=fr", headers=guest)
    ).text()
    strings = json.loads(re.search(r'id="sidestage-strings">(.*?)</script>', html).group(1))  # type: ignore[union-attr]
    assert strings["Upvote"] != "Upvote" and "%(count)s" in strings["People here: %(count)s"]
    english = await (
        await client.get(f"/sessions/{world.public.id}/room?lang=en", headers=guest)
    ).text()
    assert 'id="sidestage-strings">{}</script>' in english  # English needs no catalog


async def test_the_room_of_an_ended_session_says_so(client, db, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from sidestage.web import room_pages

    world = await make_world(client, db)
    token = await guest_token(client, "Late")
    page = f"/sessions/{world.public.id}/room"
    notice = re.compile(r'<p class="notice" data-part="session-ended"[^>]*?( hidden)?>')
    during = world.public.ends_at - timedelta(minutes=5)
    monkeypatch.setattr(room_pages, "utcnow", lambda: during)
    found = notice.search(await (await client.get(page, headers=bearer(token))).text())
    assert found is not None and found.group(1) == " hidden"  # shown by the page when it ends
    monkeypatch.setattr(room_pages, "utcnow", lambda: world.public.ends_at)
    ended = await (await client.get(page, headers=bearer(token))).text()
    found = notice.search(ended)
    assert found is not None and found.group(1) is None
    assert "This session has ended." in ended
    await world.close()
