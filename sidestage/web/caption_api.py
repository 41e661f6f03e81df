"""Live captions over HTTP: lines from outside captioning tools, transcripts to download.

A CART writer's software or a speech-recognition service posts each line with the token
of an account that holds the session's captioner role (``POST /api/auth/login`` gives
one): the line is kept and reaches the room exactly as one typed in the room does. After
the session, its moderators and organizers download each language's transcript as WebVTT
timed to the stage's recording, or as plain text.
"""

from __future__ import annotations

from datetime import datetime

from aiohttp import web
from pydantic import BaseModel, Field

from sidestage.platform.db import transaction
from sidestage.platform.errors import InvalidInput
from sidestage.platform.program.models import Session
from sidestage.platform.program.service import get_session
from sidestage.platform.program.sidestage_meta import LANGUAGE_TAG
from sidestage.realtime.media.recorder import list_recordings
from sidestage.realtime.server import REALTIME
from sidestage.rooms.captions import service as captions
from sidestage.rooms.events import Outbox
from sidestage.rooms.feed import service as feed
from sidestage.web.api import api
from sidestage.web.api_kit import path_id, signed_in_account
from sidestage.web.keys import DB, PRINCIPAL, SETTINGS
from sidestage.web.room_api import moderated_session


class CaptionIn(BaseModel):
    language: str = Field(pattern=LANGUAGE_TAG, max_length=16)
    text: str = Field(max_length=4000)


class CaptionOut(BaseModel):
    id: int


@api.route(
    "POST",
    "/api/sessions/{id}/captions",
    "Send a line of live captions (captioners and moderators)",
    tag="rooms",
    body=CaptionIn,
    response=CaptionOut,
    status=201,
)
async def send_caption(request: web.Request, line: CaptionIn) -> CaptionOut:
    outbox = Outbox()
    async with transaction(request.app[DB]) as db:
        session = await get_session(db, path_id(request))
        captions.check_may_caption(request[PRINCIPAL], session)
        account = signed_in_account(request)
        kept = await captions.add(db, outbox, session, account, line.language, line.text)
        await feed.record(db, outbox)  # numbered in this transaction, as a command's are
    await request.app[REALTIME].publish(outbox)  # after the commit
    return CaptionOut(id=kept.id)


@api.route(
    "GET",
    "/api/sessions/{id}/captions.vtt",
    "A caption language's transcript as WebVTT, timed to the recording (?language=)",
    tag="rooms",
)
async def transcript_vtt(request: web.Request) -> web.Response:
    session, language, lines = await _transcript(request)
    body = captions.as_webvtt(lines, _origin(request, session))
    return _download(body, "text/vtt", f"captions-{session.id}-{language}.vtt")


@api.route(
    "GET",
    "/api/sessions/{id}/captions.txt",
    "A caption language's transcript as plain text (?language=)",
    tag="rooms",
)
async def transcript_text(request: web.Request) -> web.Response:
    session, language, lines = await _transcript(request)
    return _download(captions.as_text(lines), "text/plain", f"captions-{session.id}-{language}.txt")


async def _transcript(request: web.Request) -> tuple[Session, str, list[captions.CaptionLine]]:
    async with request.app[DB]() as db:
        session = await moderated_session(db, request[PRINCIPAL], path_id(request))
        language = request.query.get("language", "")
        if language not in session.caption_languages:
            raise InvalidInput(
                "caption.bad_language",
                "Name one of the session's caption languages: ?language=",
                details={"offered": list(session.caption_languages)},
            )
        return session, language, await captions.transcript(db, session.id, language)


def _origin(request: web.Request, session: Session) -> datetime:
    """Where the cues count from: the start of the session's first recording, so that the
    file plays beside it; without one, the session's scheduled start."""
    recordings = list_recordings(request.app[SETTINGS].data_dir, session.id)
    return recordings[0].started_at if recordings else session.starts_at


def _download(body: str, content_type: str, filename: str) -> web.Response:
    response = web.Response(text=body, content_type=content_type, charset="utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
