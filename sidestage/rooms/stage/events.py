"""What the stage broadcasts."""

from __future__ import annotations

from pydantic import BaseModel

from sidestage.rooms.events import broadcast


class OnStage(BaseModel):
    account_id: int
    name: str


class Publication(BaseModel):
    """A speaker's camera (with microphone) or screen, ready to watch."""

    id: str
    account_id: int
    source: str  # "camera", "screen" or "interpretation"
    kinds: list[str]  # "audio", "video"
    language: str | None = None  # an interpretation channel's language
    on_air: bool = True  # false: an interpreter standing by, heard by no one


@broadcast("stage.changed")
class StageOut(BaseModel):
    """``stage.changed`` to the room whenever the lineup or a publication changes."""

    session_id: int
    speakers: list[OnStage]
    publications: list[Publication]
    recording: bool
