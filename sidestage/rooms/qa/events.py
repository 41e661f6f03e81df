"""What Q&A broadcasts. Anonymous questions reach moderators with their author."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from sidestage.rooms.common import Author
from sidestage.rooms.events import broadcast
from sidestage.rooms.qa.models import Question


@broadcast("qa.question_added", "qa.question_changed")
class QuestionOut(BaseModel):
    """``qa.question_added`` and ``qa.question_changed``."""

    id: int
    session_id: int
    text: str
    author: Author | None  # None when anonymous, except for moderators
    anonymous: bool
    status: str
    pinned: bool
    upvotes: int
    at: datetime


@broadcast("qa.queue_changed")
class QueueChanged(BaseModel):
    """``qa.queue_changed`` to the room: whether new questions wait for approval."""

    session_id: int
    moderated: bool


@broadcast("qa.question_removed")
class Removed(BaseModel):
    """``qa.question_removed`` to the room: hidden or withdrawn."""

    id: int
    session_id: int


def question_out(question: Question, *, for_moderators: bool) -> QuestionOut:
    show_author = for_moderators or not question.anonymous
    return QuestionOut(
        id=question.id,
        session_id=question.session_id,
        text=question.text,
        author=Author(id=question.account_id, name=question.author_name) if show_author else None,
        anonymous=question.anonymous,
        status=question.status,
        pinned=question.pinned,
        upvotes=question.upvotes,
        at=question.created_at,
    )
