"""What tool launches broadcast."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from sidestage.rooms.events import broadcast
from sidestage.rooms.tools.models import Tool


@broadcast("tool.launched")
class ToolOut(BaseModel):
    """``tool.launched`` to the room. ``link`` counts the click, then redirects to ``url``."""

    id: int
    session_id: int
    title: str
    url: str
    link: str
    description: str
    at: datetime


def tool_out(tool: Tool) -> ToolOut:
    return ToolOut(
        id=tool.id,
        session_id=tool.session_id,
        title=tool.title,
        url=tool.url,
        link=f"/tools/{tool.id}/go",
        description=tool.description,
        at=tool.launched_at,
    )
