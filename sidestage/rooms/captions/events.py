"""What captions broadcast."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from sidestage.rooms.captions.models import CaptionLine
from sidestage.rooms.events import broadcast


@broadcast("caption.added")
class CaptionAdded(BaseModel):
    """``caption.added`` to the room: a line of captions in one language."""

    id: int
    session_id: int
    language: str
    text: str
    at: datetime


def added(line: CaptionLine) -> CaptionAdded:
    return CaptionAdded(
        id=line.id,
        session_id=line.session_id,
        language=line.language,
        text=line.text,
        at=line.created_at,
    )
