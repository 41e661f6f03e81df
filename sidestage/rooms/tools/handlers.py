"""Tool commands."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from sidestage.rooms.commands import Context, Payload, Permission, registry
from sidestage.rooms.common import MAX_ID
from sidestage.rooms.tools import service


class LaunchIn(Payload):
    session_id: int = Field(ge=1, le=MAX_ID)
    title: str = Field(max_length=1000)
    url: str = Field(max_length=500)
    description: str = Field(default="", max_length=2000)


@registry.command(
    "tool.launch",
    LaunchIn,
    Permission.MODERATOR,
    summary="Launch a tool to the room (hosts and moderators)",
)
async def launch(ctx: Context, p: LaunchIn) -> dict[str, Any]:
    tool = await service.launch(ctx, p.session_id, p.title, p.url, p.description)
    return {"tool_id": tool.id}
