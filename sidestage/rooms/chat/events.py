"""What chat broadcasts, and to whom."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from sidestage.rooms.chat.models import ChatMessage
from sidestage.rooms.common import Author
from sidestage.rooms.events import broadcast


@broadcast("chat.posted")
class Posted(BaseModel):
    """``chat.posted`` to the room."""

    id: int
    session_id: int
    text: str
    author: Author
    at: datetime


@broadcast("chat.deleted")
class Deleted(BaseModel):
    """``chat.deleted`` to the room."""

    id: int
    session_id: int


@broadcast("chat.slow_mode_changed")
class SlowModeChanged(BaseModel):
    """``chat.slow_mode_changed`` to the room."""

    session_id: int
    seconds: int


@broadcast("chat.muted")
class Muted(BaseModel):
    """``chat.muted`` to the muted person only."""

    session_id: int
    until: datetime


def posted(message: ChatMessage) -> Posted:
    return Posted(
        id=message.id,
        session_id=message.session_id,
        text=message.text,
        author=Author(id=message.account_id, name=message.author_name),
        at=message.created_at,
    )
