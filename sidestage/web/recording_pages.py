"""The stage's recordings, for organizers: one file per session, listed and downloaded,
with the session's captions beside it (WebVTT timed to the recording, per language)."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web
from sqlalchemy import select

from sidestage.platform.access import service as access
from sidestage.platform.errors import NotFound
from sidestage.platform.program import service as program
from sidestage.platform.program.models import Session
from sidestage.realtime.media.recorder import list_recordings
from sidestage.rooms.captions import service as captions
from sidestage.web.keys import DB, PRINCIPAL, SETTINGS
from sidestage.web.pages import zones

MEDIA_TYPES = {".webm": "video/webm", ".mkv": "video/x-matroska"}


def setup(app: web.Application) -> None:
    app.router.add_get("/organizer/recordings", recordings_page)
    app.router.add_get(r"/organizer/recordings/{name:[\w.-]+}", download)


@aiohttp_jinja2.template("recordings.html")
async def recordings_page(request: web.Request) -> dict[str, Any]:
    access.require_organizer(request[PRINCIPAL])
    found = list(reversed(list_recordings(request.app[SETTINGS].data_dir)))  # newest first
    ids = {recording.session_id for recording in found}
    async with request.app[DB]() as db:
        conference = await program.get_conference(db, request.app[SETTINGS].conference)
        sessions = {s.id: s for s in await db.scalars(select(Session).where(Session.id.in_(ids)))}
        captioned = await captions.captioned(db, list(ids))
    return {
        "recordings": found,
        "sessions": sessions,
        "captioned": captioned,
        **zones(request, conference),
    }


async def download(request: web.Request) -> web.StreamResponse:
    access.require_organizer(request[PRINCIPAL])
    name = request.match_info["name"]
    # Only a name the listing knows is served: nothing else under the data folder.
    for recording in list_recordings(request.app[SETTINGS].data_dir):
        if recording.path.name == name:
            response = web.FileResponse(recording.path)
            response.content_type = MEDIA_TYPES[recording.path.suffix]
            response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
            return response
    raise NotFound("recording.not_found", "There is no such recording.")
