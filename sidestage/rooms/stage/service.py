"""The stage's lineup (who the host put on it, kept in the database) and its signalling.

Only people with a role in the session (speaker, chair, or its moderators) can be put
on stage, and only those on stage may publish. The media itself lives in the media
plane (``services.stage``): publications end with their connection, and whoever
changes the stage announces it to the room with ``stage.changed``.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from sidestage.platform import epochs
from sidestage.platform.access.models import RoleGrant
from sidestage.platform.access.service import STAGE_ROLES, load_principal
from sidestage.platform.accounts.models import Account
from sidestage.platform.errors import Forbidden, InvalidInput, NotFound
from sidestage.platform.program.models import Session
from sidestage.rooms import events as audience
from sidestage.rooms.commands import Context
from sidestage.rooms.events import Outbox
from sidestage.rooms.shared import StageMedia
from sidestage.rooms.stage import events
from sidestage.rooms.stage.models import StageSpeaker


async def speakers(db: AsyncSession, session_id: int) -> list[events.OnStage]:
    rows = await db.execute(
        select(Account.id, Account.display_name)
        .join(StageSpeaker, StageSpeaker.account_id == Account.id)
        .where(StageSpeaker.session_id == session_id)
        .order_by(StageSpeaker.added_at, Account.id)
    )
    return [events.OnStage(account_id=id_, name=name) for id_, name in rows]


async def is_on_stage(db: AsyncSession, session_id: int, account_id: int) -> bool:
    return await db.get(StageSpeaker, (session_id, account_id)) is not None


async def stage_state(db: AsyncSession, media: StageMedia, session_id: int) -> events.StageOut:
    return await stage_with(media, session_id, await speakers(db, session_id))


async def stage_with(
    media: StageMedia, session_id: int, lineup: list[events.OnStage]
) -> events.StageOut:
    """The stage as sent: this lineup, and what the media side publishes and records."""
    publications = await media.publications(session_id)
    return events.StageOut(
        session_id=session_id,
        speakers=lineup,
        publications=[events.Publication.model_validate(p) for p in publications],
        recording=await media.recording(session_id),
    )


async def announce(db: AsyncSession, media: StageMedia, session_id: int, outbox: Outbox) -> None:
    state = await stage_state(db, media, session_id)
    outbox.add("stage.changed", state, audience.room(session_id))


async def put_on(ctx: Context, session: Session, account_id: int) -> None:
    account = await ctx.db.get(Account, account_id)
    if account is None:
        raise NotFound("stage.not_found", "There is no such person.")
    if not (await load_principal(ctx.db, account)).may_go_on_stage(session):
        raise Forbidden(
            "stage.not_a_speaker", "Only this session's speakers and moderators go on stage."
        )
    if not await is_on_stage(ctx.db, session.id, account_id):
        ctx.db.add(
            StageSpeaker(session_id=session.id, account_id=account_id, added_by=ctx.account.id)
        )
        await ctx.db.flush()
    await announce(ctx.db, ctx.services.stage, session.id, ctx.outbox)


async def take_off(ctx: Context, session_id: int, account_id: int) -> None:
    lineup = cast(Table, StageSpeaker.__table__)
    await ctx.db.execute(
        delete(lineup).where(lineup.c.session_id == session_id, lineup.c.account_id == account_id)
    )
    epochs.room_changed(ctx.db, session_id)  # the lineup is in the room's entry snapshot
    # Their camera stops once the removal is committed; the room hears at once, without it.
    ctx.outbox.after_commit.append(lambda: ctx.services.stage.drop_account(session_id, account_id))
    state = await stage_state(ctx.db, ctx.services.stage, session_id)
    state.publications = [p for p in state.publications if p.account_id != account_id]
    ctx.outbox.add("stage.changed", state, audience.room(session_id))


async def check_on_stage(ctx: Context, session_id: int) -> None:
    if not await is_on_stage(ctx.db, session_id, ctx.account.id):
        raise Forbidden("stage.not_on_stage", "The host has not put you on stage.")


def check_interpreter(ctx: Context, session: Session, language: str | None) -> str:
    """An interpretation channel is published by the session's interpreters (and its
    moderators), in one of the languages it offers interpretation in."""
    if not ctx.principal.may_interpret(session):
        raise Forbidden(
            "stage.not_an_interpreter", "Only this session's interpreters publish a channel."
        )
    return check_interpretation_language(session, language)


def check_interpretation_language(session: Session, language: str | None) -> str:
    if language is None or language not in session.interpretation_languages:
        raise InvalidInput(
            "stage.bad_language",
            "This session offers no interpretation in that language.",
            details={"offered": list(session.interpretation_languages)},
        )
    return language


async def channel_on_air(media: StageMedia, session_id: int, language: str) -> str | None:
    """The id of the publication on air in ``language``, if an interpreter is."""
    for publication in await media.publications(session_id):
        if publication.get("language") == language and publication.get("on_air"):
            return str(publication["id"])
    return None


def check_offer(sdp: str) -> None:
    """A publication is sound or picture: an offer with neither (no ``m=audio`` or
    ``m=video`` section, say only a data channel) would hold a peer connection and a place
    in the lineup's publications with nothing to watch."""
    kinds = {line[2:].split(" ", 1)[0] for line in sdp.splitlines() if line.startswith("m=")}
    if not kinds & {"audio", "video"}:
        raise InvalidInput(
            "stage.bad_media", "Your browser offered neither sound nor picture to the stage."
        )


async def candidates(db: AsyncSession, session: Session) -> list[events.OnStage]:
    """Who a moderator may put on stage besides moderators: its speakers and chairs."""
    rows = await db.execute(
        select(Account.id, Account.display_name)
        .join(RoleGrant, RoleGrant.account_id == Account.id)
        .where(RoleGrant.session_id == session.id, RoleGrant.role.in_(STAGE_ROLES))
        .distinct()
        .order_by(Account.display_name, Account.id)
    )
    return [events.OnStage(account_id=id_, name=name) for id_, name in rows]
