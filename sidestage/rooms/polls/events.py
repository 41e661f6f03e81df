"""What polls broadcast, and to whom."""

from __future__ import annotations

from pydantic import BaseModel

from sidestage.rooms.events import broadcast
from sidestage.rooms.polls.models import Poll


@broadcast("poll.opened", "poll.created")
class PollOut(BaseModel):
    """``poll.opened`` to the room; ``poll.created`` to moderators."""

    poll_id: int
    session_id: int
    question: str
    options: list[str]
    multiple: bool
    anonymous: bool
    signed_in_only: bool
    results: str
    status: str


@broadcast("poll.closed")
class Closed(BaseModel):
    """``poll.closed`` to the room."""

    poll_id: int
    session_id: int


@broadcast("poll.results_changed")
class Results(BaseModel):
    """``poll.results_changed``: to the room, to voters or to moderators, as the poll shows."""

    poll_id: int
    counts: list[int]
    voters: int
    version: int  # grows with every vote: of two tallies of a poll, keep the higher


def poll_out(poll: Poll) -> PollOut:
    return PollOut(
        poll_id=poll.id,
        session_id=poll.session_id,
        question=poll.question,
        options=poll.options,
        multiple=poll.multiple,
        anonymous=poll.anonymous,
        signed_in_only=poll.signed_in_only,
        results=poll.results_shown,
        status=poll.status,
    )
