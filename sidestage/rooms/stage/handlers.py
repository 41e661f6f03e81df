"""Stage commands: the host's lineup, and WebRTC signalling for speakers and viewers.

The server answers a speaker's offer and makes the offer to each viewer (it forces the
speaker's codec on them); descriptions carry their ICE candidates (no trickling).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal

from pydantic import Field

from sidestage.platform.program.sidestage_meta import LANGUAGE_TAG
from sidestage.rooms.commands import Context, Payload, Permission, registry
from sidestage.rooms.common import MAX_ID
from sidestage.rooms.stage import service

MAX_SDP = 30_000  # a browser's offer for camera, microphone and screen is under 10 KB
MEDIA_ID = r"^[0-9a-f]{32}$"


class PersonIn(Payload):
    session_id: int = Field(ge=1, le=MAX_ID)
    account_id: int = Field(ge=1, le=MAX_ID)


class PublishIn(Payload):
    session_id: int = Field(ge=1, le=MAX_ID)
    source: Literal["camera", "screen", "interpretation"]
    sdp: str = Field(min_length=1, max_length=MAX_SDP)
    language: str | None = Field(default=None, pattern=LANGUAGE_TAG, max_length=16)


class PublicationIn(Payload):
    session_id: int = Field(ge=1, le=MAX_ID)
    publication_id: str = Field(pattern=MEDIA_ID)


class WatchIn(Payload):
    session_id: int = Field(ge=1, le=MAX_ID)
    publication_id: str = Field(pattern=MEDIA_ID)
    audio_only: bool = False


class AnswerIn(Payload):
    session_id: int = Field(ge=1, le=MAX_ID)
    watch_id: str = Field(pattern=MEDIA_ID)
    sdp: str = Field(min_length=1, max_length=MAX_SDP)


class ListenIn(Payload):
    session_id: int = Field(ge=1, le=MAX_ID)
    watch_id: str = Field(pattern=MEDIA_ID)
    language: str | None = Field(pattern=LANGUAGE_TAG, max_length=16)


class LeaveIn(Payload):
    session_id: int = Field(ge=1, le=MAX_ID)
    watch_id: str = Field(pattern=MEDIA_ID)


def after_commit(
    ctx: Context, media_step: Callable[[], Awaitable[dict[str, Any] | None]]
) -> dict[str, Any]:
    """Run a media step once the command's transaction is over, its result filling the ack:
    negotiating a connection (gathering ICE candidates) must not hold a database
    connection, and a refusal from the media plane still reaches the client."""
    ack: dict[str, Any] = {}

    async def run() -> None:
        ack.update(await media_step() or {})

    ctx.outbox.after_commit.append(run)
    return ack


@registry.command("stage.put_on", PersonIn, Permission.MODERATOR, summary="Put a speaker on stage")
async def put_on(ctx: Context, p: PersonIn) -> dict[str, Any]:
    assert ctx.session is not None
    await service.put_on(ctx, ctx.session, p.account_id)
    return {}


@registry.command(
    "stage.take_off", PersonIn, Permission.MODERATOR, summary="Take someone off the stage"
)
async def take_off(ctx: Context, p: PersonIn) -> dict[str, Any]:
    await service.take_off(ctx, p.session_id, p.account_id)
    return {}


@registry.command(
    "stage.publish",
    PublishIn,
    Permission.PARTICIPANT,
    summary="Send one's camera or screen to the stage (those on stage); answers the SDP",
)
async def publish(ctx: Context, p: PublishIn) -> dict[str, Any]:
    assert ctx.session is not None
    language = None
    if p.source == "interpretation":
        language = service.check_interpreter(ctx, ctx.session, p.language)
    else:
        await service.check_on_stage(ctx, p.session_id)
    service.check_offer(p.sdp)

    async def send() -> dict[str, Any]:
        publication_id, answer = await ctx.services.stage.publish(
            p.session_id, ctx.account.id, p.source, ctx.connection.sid, p.sdp, language
        )
        return {"publication_id": publication_id, "sdp": answer}

    return after_commit(ctx, send)


@registry.command("stage.unpublish", PublicationIn, Permission.PARTICIPANT, summary="Stop sending")
async def unpublish(ctx: Context, p: PublicationIn) -> dict[str, Any]:
    sid = ctx.connection.sid
    return after_commit(
        ctx, lambda: ctx.services.stage.unpublish(p.session_id, p.publication_id, sid)
    )


@registry.command(
    "stage.watch",
    WatchIn,
    Permission.PARTICIPANT,
    summary="Receive a publication, or only its sound; answers the server's offer",
)
async def watch(ctx: Context, p: WatchIn) -> dict[str, Any]:
    async def offer() -> dict[str, Any]:
        watch_id, sdp = await ctx.services.stage.watch(
            p.session_id, p.publication_id, ctx.connection.sid, p.audio_only
        )
        return {"watch_id": watch_id, "sdp": sdp}

    return after_commit(ctx, offer)


@registry.command(
    "stage.answer", AnswerIn, Permission.PARTICIPANT, summary="Answer the offer of stage.watch"
)
async def answer(ctx: Context, p: AnswerIn) -> dict[str, Any]:
    sid = ctx.connection.sid
    return after_commit(
        ctx, lambda: ctx.services.stage.answer(p.session_id, p.watch_id, sid, p.sdp)
    )


@registry.command(
    "stage.take_over",
    PublicationIn,
    Permission.PARTICIPANT,
    summary="Go on air with one's interpretation channel (the one on air stands by)",
)
async def take_over(ctx: Context, p: PublicationIn) -> dict[str, Any]:
    sid = ctx.connection.sid
    return after_commit(
        ctx, lambda: ctx.services.stage.take_over(p.session_id, p.publication_id, sid)
    )


@registry.command(
    "stage.listen",
    ListenIn,
    Permission.PARTICIPANT,
    summary="Hear a watch in an interpretation language, or (null) the original",
)
async def listen(ctx: Context, p: ListenIn) -> dict[str, Any]:
    assert ctx.session is not None
    if p.language is not None:
        service.check_interpretation_language(ctx.session, p.language)
    sid = ctx.connection.sid

    async def switch() -> dict[str, Any]:
        media = ctx.services.stage
        channel = (
            await service.channel_on_air(media, p.session_id, p.language) if p.language else None
        )
        await media.listen(p.session_id, p.watch_id, sid, channel)
        return {"language": p.language, "on_air": channel is not None}

    return after_commit(ctx, switch)


@registry.command("stage.leave", LeaveIn, Permission.PARTICIPANT, summary="Stop receiving")
async def leave(ctx: Context, p: LeaveIn) -> dict[str, Any]:
    sid = ctx.connection.sid
    return after_commit(ctx, lambda: ctx.services.stage.leave(p.session_id, p.watch_id, sid))
