"""Q&A: questions, upvotes (once per person), the moderation queue, CSV export."""

from __future__ import annotations

import enum
from typing import cast

from sqlalchemy import Table, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sidestage.platform import epochs
from sidestage.platform.db import utcnow
from sidestage.platform.errors import Conflict, Forbidden, NotFound
from sidestage.platform.spreadsheet import csv_document
from sidestage.rooms import events as audience
from sidestage.rooms.commands import Context
from sidestage.rooms.common import clean_text, rate_limit
from sidestage.rooms.qa import events
from sidestage.rooms.qa.models import Question, QuestionStatus, QuestionVote
from sidestage.rooms.room import service as room

MAX_LENGTH = 500
RATE = (3, 60.0)  # questions per minute per person
SHOWN = (QuestionStatus.VISIBLE, QuestionStatus.ANSWERED)


class Moderation(enum.StrEnum):
    APPROVE = "approve"
    HIDE = "hide"
    PIN = "pin"
    UNPIN = "unpin"
    ANSWER = "answer"


async def ask(
    ctx: Context, session_id: int, raw: str, anonymous: bool, client_id: str | None
) -> Question:
    if client_id is not None:
        earlier = await ctx.db.scalar(
            select(Question).where(
                Question.session_id == session_id,
                Question.account_id == ctx.account.id,
                Question.client_id == client_id,
            )
        )
        if earlier is not None:
            return earlier
    text = clean_text(raw, MAX_LENGTH, "qa")
    if ctx.session is None or not ctx.principal.moderates(ctx.session):
        await rate_limit(ctx, "qa", *RATE)
    assert ctx.room is not None
    queued = ctx.room.qa_moderated
    question = Question(
        session_id=session_id,
        account_id=ctx.account.id,
        author_name=ctx.account.display_name,
        anonymous=anonymous,
        text=text,
        client_id=client_id,
        status=QuestionStatus.PENDING if queued else QuestionStatus.VISIBLE,
    )
    ctx.db.add(question)
    await ctx.db.flush()
    _announce(ctx, question, "qa.question_added")
    return question


def _announce(ctx: Context, question: Question, name: str) -> None:
    """Moderators see every change with the author; the room sees shown questions only."""
    # Moderators are in both channels and keep their copy (with the author, without seq).
    if question.status in SHOWN:
        public = events.question_out(question, for_moderators=False)
        ctx.outbox.add(name, public, audience.room(question.session_id))
    elif question.status in (QuestionStatus.HIDDEN, QuestionStatus.WITHDRAWN):
        removed = events.Removed(id=question.id, session_id=question.session_id)
        ctx.outbox.add("qa.question_removed", removed, audience.room(question.session_id))
    else:  # pending: only its author hears of it, besides the moderators
        own = events.question_out(question, for_moderators=False)
        ctx.outbox.add(name, own, audience.user(question.account_id))
    mods = events.question_out(question, for_moderators=True)
    ctx.outbox.add(name, mods, audience.moderators(question.session_id))


async def get_question(db: AsyncSession, question_id: int) -> Question:
    question = await db.get(Question, question_id)
    if question is None or question.status == QuestionStatus.WITHDRAWN:
        raise NotFound("qa.not_found", "There is no such question.")
    return question


async def upvote(ctx: Context, question_id: int) -> Question:
    question = await get_question(ctx.db, question_id)
    if question.status not in SHOWN:
        raise Conflict("qa.not_open", "This question cannot be upvoted.")
    if question.account_id == ctx.account.id:
        raise Conflict("qa.own_question", "You cannot upvote your own question.")
    try:
        async with ctx.db.begin_nested():
            ctx.db.add(QuestionVote(question_id=question.id, account_id=ctx.account.id))
    except IntegrityError:
        raise Conflict("qa.already_upvoted", "You already upvoted this question.") from None
    # In place, so two upvotes at once both count. Through the table: on the mapped class
    # the statement would move every room's epoch; only this room's snapshot shows upvotes.
    questions = cast(Table, Question.__table__)
    await ctx.db.execute(
        update(questions)
        .where(questions.c.id == question.id)
        .values(upvotes=questions.c.upvotes + 1)
    )
    epochs.room_changed(ctx.db, question.session_id)
    await ctx.db.refresh(question)
    _announce(ctx, question, "qa.question_changed")
    return question


async def withdraw(ctx: Context, question_id: int) -> None:
    question = await get_question(ctx.db, question_id)
    if question.account_id != ctx.account.id:
        raise Forbidden("qa.forbidden", "You may withdraw only your own questions.")
    question.status = QuestionStatus.WITHDRAWN
    await ctx.db.flush()
    _announce(ctx, question, "qa.question_changed")


async def moderate(ctx: Context, question_id: int, action: Moderation) -> Question:
    question = await get_question(ctx.db, question_id)
    if action == Moderation.APPROVE:
        question.status = QuestionStatus.VISIBLE
    elif action == Moderation.HIDE:
        question.status = QuestionStatus.HIDDEN
    elif action == Moderation.ANSWER:
        question.status, question.answered_at = QuestionStatus.ANSWERED, utcnow()
    else:
        question.pinned = action == Moderation.PIN
    await ctx.db.flush()
    _announce(ctx, question, "qa.question_changed")
    return question


async def questions_of(db: AsyncSession, session_id: int) -> list[Question]:
    """Every question not withdrawn, as moderators see them, ordered as the room shows
    them: pinned first, then by votes, then oldest first."""
    query = select(Question).where(
        Question.session_id == session_id, Question.status != QuestionStatus.WITHDRAWN
    )
    query = query.order_by(Question.pinned.desc(), Question.upvotes.desc(), Question.id)
    return list((await db.scalars(query)).all())


def room_order(question: Question) -> tuple[bool, int, int]:
    """The key that sorts questions as ``questions_of`` orders them."""
    return (not question.pinned, -question.upvotes, question.id)


async def queued_by(db: AsyncSession, session_id: int, account_id: int) -> list[Question]:
    """This person's questions waiting for a moderator."""
    query = select(Question).where(
        Question.session_id == session_id,
        Question.account_id == account_id,
        Question.status == QuestionStatus.PENDING,
    )
    return list((await db.scalars(query)).all())


async def upvoters(db: AsyncSession, session_id: int) -> list[int]:
    """Everyone who upvoted a question in this room."""
    rows = await db.scalars(
        select(QuestionVote.account_id)
        .distinct()
        .join(Question, Question.id == QuestionVote.question_id)
        .where(Question.session_id == session_id)
    )
    return list(rows)


async def upvoted_by(db: AsyncSession, session_id: int, account_id: int) -> list[int]:
    rows = await db.scalars(
        select(QuestionVote.question_id)
        .join(Question, Question.id == QuestionVote.question_id)
        .where(Question.session_id == session_id, QuestionVote.account_id == account_id)
    )
    return list(rows)


async def set_moderated(ctx: Context, session_id: int, moderated: bool) -> None:
    await room.change_settings(ctx.db, session_id, qa_moderated=moderated)
    body = events.QueueChanged(session_id=session_id, moderated=moderated)
    ctx.outbox.add("qa.queue_changed", body, audience.room(session_id))


QUESTION_COLUMNS = ["id", "asked_at", "author", "anonymous", "status", "pinned", "upvotes", "text"]


async def questions_csv(db: AsyncSession, session_id: int) -> str:
    rows = [
        [q.id, q.created_at.isoformat(), q.author_name, q.anonymous]
        + [q.status, q.pinned, q.upvotes, q.text]
        for q in await questions_of(db, session_id)
    ]
    return csv_document([QUESTION_COLUMNS, *rows])
