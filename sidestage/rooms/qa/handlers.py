"""Q&A commands."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from sidestage.rooms.commands import Context, Payload, Permission, registry, room_of
from sidestage.rooms.common import CLIENT_ID, MAX_ID
from sidestage.rooms.qa import service
from sidestage.rooms.qa.models import Question


class AskIn(Payload):
    session_id: int = Field(ge=1, le=MAX_ID)
    text: str = Field(max_length=4000)
    anonymous: bool = False
    client_id: str | None = Field(default=None, pattern=CLIENT_ID)


class QuestionIn(Payload):
    question_id: int = Field(ge=1, le=MAX_ID)


class ModerateIn(Payload):
    question_id: int = Field(ge=1, le=MAX_ID)
    action: service.Moderation = Field(strict=False)


class QueueIn(Payload):
    session_id: int = Field(ge=1, le=MAX_ID)
    moderated: bool


question_room = room_of(Question, "question_id")


@registry.command("qa.ask", AskIn, Permission.PARTICIPANT, summary="Ask a question")
async def ask(ctx: Context, p: AskIn) -> dict[str, Any]:
    question = await service.ask(ctx, p.session_id, p.text, p.anonymous, p.client_id)
    return {"question_id": question.id, "status": question.status}


@registry.command(
    "qa.upvote",
    QuestionIn,
    Permission.PARTICIPANT,
    room=question_room,
    summary="Upvote a question, once",
)
async def upvote(ctx: Context, p: QuestionIn) -> dict[str, Any]:
    question = await service.upvote(ctx, p.question_id)
    return {"upvotes": question.upvotes}


@registry.command(
    "qa.withdraw",
    QuestionIn,
    Permission.PARTICIPANT,
    room=question_room,
    summary="Withdraw one's own question",
)
async def withdraw(ctx: Context, p: QuestionIn) -> dict[str, Any]:
    await service.withdraw(ctx, p.question_id)
    return {}


@registry.command(
    "qa.moderate",
    ModerateIn,
    Permission.MODERATOR,
    room=question_room,
    summary="Approve, hide, pin, unpin or mark answered",
)
async def moderate(ctx: Context, p: ModerateIn) -> dict[str, Any]:
    question = await service.moderate(ctx, p.question_id, p.action)
    return {"status": question.status, "pinned": question.pinned}


@registry.command(
    "qa.queue", QueueIn, Permission.MODERATOR, summary="Require approval before questions are shown"
)
async def queue(ctx: Context, p: QueueIn) -> dict[str, Any]:
    await service.set_moderated(ctx, p.session_id, p.moderated)
    return {"moderated": p.moderated}
