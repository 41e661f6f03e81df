"""Caption commands."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from sidestage.platform.program.sidestage_meta import LANGUAGE_TAG
from sidestage.rooms.captions import service
from sidestage.rooms.commands import Context, Payload, Permission, registry
from sidestage.rooms.common import MAX_ID


class SendIn(Payload):
    session_id: int = Field(ge=1, le=MAX_ID)
    language: str = Field(pattern=LANGUAGE_TAG, max_length=16)
    text: str = Field(max_length=4000)


@registry.command(
    "caption.send",
    SendIn,
    Permission.PARTICIPANT,
    summary="Send a line of captions (captioners and moderators)",
)
async def send(ctx: Context, p: SendIn) -> dict[str, Any]:
    assert ctx.session is not None  # a room command's session is loaded
    service.check_may_caption(ctx.principal, ctx.session)
    line = await service.add(ctx.db, ctx.outbox, ctx.session, ctx.account, p.language, p.text)
    return {"id": line.id}
