"""Who is connecting, read for everyone connecting at once (platform/batches.py and
realtime/identities.py)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import event, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sidestage.platform import batches
from sidestage.platform.access.models import Role
from sidestage.platform.accounts.models import Account, AuthToken
from sidestage.platform.batches import Batches
from sidestage.platform.db import transaction, utcnow
from sidestage.platform.epochs import Epochs, track
from sidestage.realtime.identities import Identities
from sidestage.realtime.server import KEPT
from tests.helpers import guest_token, user_with_role
from tests.rooms_world import World

Factory = async_sessionmaker[AsyncSession]


class Squares:
    """A read that remembers the batches it was given; fails for a key of -1."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.reading = asyncio.Event()
        self.release = asyncio.Event()
        self.release.set()

    async def read(self, keys: list[int]) -> dict[int, int]:
        self.batches.append(keys)
        self.reading.set()
        await self.release.wait()
        if -1 in keys:
            raise ValueError("no such key")
        return {key: key * key for key in keys if key != 0}  # 0: not found


async def test_keys_asked_together_are_read_together() -> None:
    squares = Squares()
    reads = Batches(squares.read)
    answers = await asyncio.gather(*(reads.ask(key) for key in (2, 3, 0, 2)))
    assert answers == [4, 9, None, 4]
    assert squares.batches == [[2, 3, 0]]


async def test_keys_asked_during_a_read_make_the_next_batch() -> None:
    squares = Squares()
    squares.release.clear()
    reads = Batches(squares.read)
    first = asyncio.ensure_future(reads.ask(1))
    await squares.reading.wait()  # the first read has begun, and waits
    later = asyncio.gather(*(reads.ask(key) for key in (5, 6)))
    squares.release.set()
    assert (await first, await later) == (1, [25, 36])
    assert squares.batches == [[1], [5, 6]]


async def test_a_failed_read_fails_its_batch_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batches, "MOST_AT_ONCE", 2)
    squares = Squares()
    reads = Batches(squares.read)
    answers = await asyncio.gather(
        *(reads.ask(key) for key in (-1, 2, 3, 4)), return_exceptions=True
    )
    assert [type(a) for a in answers[:2]] == [ValueError, ValueError]
    assert answers[2:] == [9, 16]  # the next batch, read after the failure
    assert squares.batches == [[-1, 2], [3, 4]]
    assert await reads.ask(2) == 4  # and later asks are read afresh


async def test_a_caller_giving_up_leaves_the_others_their_answer() -> None:
    squares = Squares()
    squares.release.clear()
    reads = Batches(squares.read)
    impatient = asyncio.ensure_future(reads.ask(7))
    patient = asyncio.ensure_future(reads.ask(7))
    await squares.reading.wait()
    impatient.cancel()
    squares.release.set()
    assert await patient == 49
    assert impatient.cancelled()


def _count_statements(db: Factory) -> list[str]:
    statements: list[str] = []
    engine = db.kw["bind"].sync_engine
    event.listen(
        engine, "before_cursor_execute", lambda *args: statements.append(args[2].split()[0])
    )
    return statements


async def test_identities_of_a_connecting_crowd(db: Factory, world: World) -> None:
    """Tokens asked at once are read in one go: the accounts, their grants and the
    invitations they redeemed, each token its own."""
    public, closed = world.public, world.closed
    guests = [await guest_token(world.http, f"Guest {n}") for n in range(5)]
    moderator = await user_with_role(db, world.http, Role.MODERATOR, session_id=public.id)
    invited = (await world.invited_guest(closed)).token
    banned = await guest_token(world.http, "Troll")
    expired = await guest_token(world.http, "Expired")
    async with transaction(db) as s:
        await s.execute(
            update(Account).where(Account.display_name == "Troll").values(banned_at=utcnow())
        )
        await s.execute(
            update(AuthToken)
            .where(
                AuthToken.account_id.in_(
                    select(Account.id).where(Account.display_name == "Expired")
                )
            )
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    epochs = Epochs(track(db, KEPT))
    identities, statements = Identities(db, epochs), _count_statements(db)
    epoch = await epochs.current()
    tokens = [*guests, moderator, invited, banned, expired, "not-a-token", guests[0]]
    found = await asyncio.gather(*(identities.of_token(token) for token in tokens))

    assert statements == ["SELECT", "SELECT", "SELECT"]  # tokens, grants, invitations
    by_token = dict(zip(tokens, found, strict=True))
    assert by_token[expired] is None and by_token["not-a-token"] is None
    names = {by_token[t][0].display_name for t in guests}  # type: ignore[index]
    assert names == {f"Guest {n}" for n in range(5)}
    for token in (*guests, moderator, invited, banned):
        account, identity = by_token[token]  # type: ignore[misc]
        assert identity.epoch == epoch
        assert identity.value[0] is account and identity.value[1].account is account
        principal = identity.value[1]
        assert principal.moderates(public) == (token == moderator)
        assert principal.invited_to(closed) == (token == invited)
        assert (account.banned_at is not None) == (token == banned)
