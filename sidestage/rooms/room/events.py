"""What the room itself broadcasts."""

from __future__ import annotations

from pydantic import BaseModel

from sidestage.rooms.events import broadcast


@broadcast("room.count_changed")
class CountChanged(BaseModel):
    """``room.count_changed`` to the room, at most once a second."""

    session_id: int
    count: int


@broadcast("room.removed")
class Removed(BaseModel):
    """``room.removed`` to the removed person."""

    session_id: int


@broadcast("marathon.counts")
class MarathonCounts(BaseModel):
    """``marathon.counts`` to watchers of the marathon: every live room's count, each second."""

    counts: dict[str, int]
