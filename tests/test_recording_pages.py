"""Organizers list and download the stage's recordings; nobody else, and nothing else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from sidestage.platform.access.models import Role
from sidestage.platform.db import transaction
from sidestage.platform.program.models import Session
from sidestage.platform.settings import Settings
from sidestage.realtime.media.recorder import RECORDINGS_DIR
from sidestage.rooms.captions.models import CaptionLine
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
    for path in ("/organizer/recordings", f"/organizer/recordings/{name}"):  # organizers only
        assert (await client.get(path, headers=moderator)).status == 403
        anonymous = await client.get(path, allow_redirects=False)
        assert anonymous.status == 303 and anonymous.headers["Location"].startswith("/login")


async def test_an_empty_listing_says_when_recording_starts(client: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    await load_demo_program(db)
    organizer = bearer(await user_with_role(db, client, Role.ORGANIZER))
    page = await (await client.get("/organizer/recordings", headers=organizer)).text()
    assert "Nothing has been recorded yet" in page


async def test_captions_are_listed_beside_the_recording_and_timed_to_it(
    client: TestClient,
    db,  # type: ignore[no-untyped-def]
    settings: Settings,
) -> None:
    await load_demo_program(db)
    async with db() as s:
        every = (await s.scalars(select(Session).order_by(Session.id))).all()
    session = next(s for s in every if len(s.caption_languages) >= 2)
    first, second = session.caption_languages[:2]
    folder = settings.data_dir / RECORDINGS_DIR
    folder.mkdir(parents=True)
    (folder / f"session-{session.id}-20261122T093000Z.webm").write_bytes(CONTENT)
    channel = f"session-{session.id}-20261122T093002Z-{first}.webm"  # an interpreter's
    (folder / channel).write_bytes(CONTENT)
    started = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
    async with transaction(db) as s:
        for language, seconds, text in ((first, 5, "One"), (first, 7.5, "Two"), (second, 6, "Un")):
            at = started + timedelta(seconds=seconds)
            s.add(CaptionLine(session_id=session.id, language=language, text=text, created_at=at))

    organizer = bearer(await user_with_role(db, client, Role.ORGANIZER))
    page = await (await client.get("/organizer/recordings", headers=organizer)).text()
    for language in (first, second):
        assert f"/api/sessions/{session.id}/captions.vtt?language={language}" in page
    assert f'href="/organizer/recordings/{channel}"' in page and "Interpretation into" in page
    downloaded = await client.get(f"/organizer/recordings/{channel}", headers=organizer)
    assert downloaded.status == 200 and await downloaded.read() == CONTENT
    vtt = await client.get(
        f"/api/sessions/{session.id}/captions.vtt?language={first}", headers=organizer
    )
    cues = (await vtt.text()).split("\n\n")[1:]
    assert cues[0].splitlines()[1:] == ["00:00:05.000 --> 00:00:07.500", "One"]
    assert cues[1].splitlines()[1:] == ["00:00:07.500 --> 00:00:13.500", "Two"]
