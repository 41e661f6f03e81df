"""Organizers list and download the stage's recordings; nobody else, and nothing else."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from sidestage.platform.access.models import Role
from sidestage.platform.program.models import Session
from sidestage.platform.settings import Settings
from sidestage.realtime.media.recorder import RECORDINGS_DIR
from tests.helpers import bearer, load_demo_program, user_with_role

CONTENT = b"\x1a\x45\xdf\xa3 not really a video"


async def test_organizers_list_and_download_recordings(
    client: TestClient,
    db,  # type: ignore[no-untyped-def]
    settings: Settings,
) -> None:
    await load_demo_program(db)
    async with db() as s:
        session = await s.scalar(select(Session).order_by(Session.id).limit(1))
    folder = settings.data_dir / RECORDINGS_DIR
    folder.mkdir(parents=True)
    name = f"session-{session.id}-20261122T093000Z.webm"
    (folder / name).write_bytes(CONTENT)
    (settings.data_dir / "secret.txt").write_text("not for download")

    organizer = bearer(await user_with_role(db, client, Role.ORGANIZER))
    listing = await client.get("/organizer/recordings", headers=organizer)
    assert listing.status == 200
    page = await listing.text()
    assert session.title in page and f'href="/organizer/recordings/{name}"' in page

    got = await client.get(f"/organizer/recordings/{name}", headers=organizer)
    assert got.status == 200 and await got.read() == CONTENT
    assert got.content_type == "video/webm"
    assert got.headers["Content-Disposition"] == f'attachment; filename="{name}"'
    for elsewhere in ("secret.txt", "..%2Fsecret.txt", "session-1-x.webm"):
        missing = await client.get(f"/organizer/recordings/{elsewhere}", headers=organizer)
        assert missing.status == 404, elsewhere

    moderator = bearer(await user_with_role(db, client, Role.MODERATOR))
    for path in ("/organizer/recordings", f"/organizer/recordings/{name}"):
        assert (await client.get(path, headers=moderator)).status == 403
        anonymous = await client.get(path, allow_redirects=False)
        assert anonymous.status == 303 and anonymous.headers["Location"].startswith("/login")


async def test_an_empty_listing_says_when_recording_starts(client: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    await load_demo_program(db)
    organizer = bearer(await user_with_role(db, client, Role.ORGANIZER))
    page = await (await client.get("/organizer/recordings", headers=organizer)).text()
    assert "Nothing has been recorded yet" in page
