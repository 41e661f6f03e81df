"""Chat commands: parse, call one service function, answer."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from sidestage.rooms.chat import events, service
from sidestage.rooms.chat.models import ChatMessage
from sidestage.rooms.commands import Context, Payload, Permission, registry, room_of
from sidestage.rooms.common import CLIENT_ID, MAX_ID


class SendIn(Payload):
    session_id: int = Field(ge=1, le=MAX_ID)
    text: str = Field(max_length=4000)
    client_id: str | None = Field(default=None, pattern=CLIENT_ID)


class HistoryIn(Payload):
    session_id: int = Field(ge=1, le=MAX_ID)
    before: int | None = Field(default=None, ge=1, le=MAX_ID)


class MessageIn(Payload):
    message_id: int = Field(ge=1, le=MAX_ID)


class MuteIn(Payload):
    session_id: int = Field(ge=1, le=MAX_ID)
    account_id: int = Field(ge=1, le=MAX_ID)
    minutes: int = Field(default=15, ge=1, le=1440)


class UnmuteIn(Payload):
    session_id: int = Field(ge=1, le=MAX_ID)
    account_id: int = Field(ge=1, le=MAX_ID)


class SlowModeIn(Payload):
    session_id: int = Field(ge=1, le=MAX_ID)
    seconds: int = Field(ge=0, le=service.MAX_SLOW_MODE)


message_room = room_of(ChatMessage, "message_id")


def listed(messages: list[ChatMessage]) -> list[dict[str, Any]]:
    return [events.posted(m).model_dump(mode="json") for m in messages]


@registry.command("chat.send", SendIn, Permission.PARTICIPANT, summary="Post a message")
async def send(ctx: Context, p: SendIn) -> dict[str, Any]:
    message = await service.send(ctx, p.session_id, p.text, p.client_id)
    return {"id": message.id}


@registry.command("chat.history", HistoryIn, Permission.PARTICIPANT, summary="Older messages")
async def history(ctx: Context, p: HistoryIn) -> dict[str, Any]:
    if p.before is None:
        return {"messages": listed(await service.recent(ctx.db, p.session_id))}
    return {"messages": listed(await service.before(ctx.db, p.session_id, p.before))}


@registry.command(
    "chat.delete",
    MessageIn,
    Permission.PARTICIPANT,
    room=message_room,
    summary="Delete own message (moderators: any)",
)
async def delete(ctx: Context, p: MessageIn) -> dict[str, Any]:
    await service.delete(ctx, p.message_id)
    return {}


@registry.command("chat.mute", MuteIn, Permission.MODERATOR, summary="Mute a participant")
async def mute(ctx: Context, p: MuteIn) -> dict[str, Any]:
    found = await service.mute(ctx, p.session_id, p.account_id, p.minutes)
    return {"until": found.until.isoformat()}


@registry.command("chat.unmute", UnmuteIn, Permission.MODERATOR, summary="Lift a mute")
async def unmute(ctx: Context, p: UnmuteIn) -> dict[str, Any]:
    await service.unmute(ctx, p.session_id, p.account_id)
    return {}


@registry.command("chat.slow_mode", SlowModeIn, Permission.MODERATOR, summary="Set slow mode")
async def slow_mode(ctx: Context, p: SlowModeIn) -> dict[str, Any]:
    await service.set_slow_mode(ctx, p.session_id, p.seconds)
    return {"seconds": p.seconds}
