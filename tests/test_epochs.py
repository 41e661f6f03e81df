"""Copies kept between commands are dropped as soon as a commit changes what they copy."""

from __future__ import annotations

import asyncio
import re

import pytest
from redis.asyncio import Redis
from sqlalchemy import event, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sidestage.platform.access.models import Role
from sidestage.platform.accounts.models import Account
from sidestage.platform.db import session_factory, transaction, utcnow
from sidestage.platform.epochs import Copies, Epochs, track
from sidestage.platform.hot_store import connect_redis
from sidestage.realtime import identities
from sidestage.realtime.identities import Identities
from sidestage.realtime.server import KEPT, REALTIME
from sidestage.rooms.chat.models import ChatMessage
from sidestage.rooms.polls.models import PollBallot
from sidestage.rooms.room import config as room_config
from sidestage.rooms.room import snapshot
from sidestage.rooms.room.config import room_configs
from sidestage.rooms.room.snapshot import RoomSnapshots
from sidestage.rooms.tools.models import Tool
from tests.conftest import REDIS_URL
from tests.helpers import bearer, registered_token, user_with_role
from tests.rooms_world import World

Factory = async_sessionmaker[AsyncSession]


def _epochs(db: Factory, redis: Redis | None = None) -> Epochs:
    """The epochs as an app keeps them for its database: moved by ``db``'s commits."""
    return Epochs(track(db, KEPT), redis)


async def _moves(db: Factory, change) -> bool:  # type: ignore[no-untyped-def]
    epochs = _epochs(db)
    before = await epochs.current()
    async with transaction(db) as s:
        await change(s)
    return await epochs.current() != before


async def _guest(s: AsyncSession) -> Account:
    account = Account(display_name="Nadia", is_guest=True)
    s.add(account)
    await s.flush()
    return account


async def test_which_commits_move_the_epoch(db: Factory) -> None:
    async def new_account(s: AsyncSession) -> None:
        await _guest(s)

    async def renamed_account(s: AsyncSession) -> None:
        (await _guest(s)).display_name = "Nadia K."

    async def untouched_account(s: AsyncSession) -> None:
        account = await _guest(s)
        account.display_name = account.display_name  # set, but not changed

    async def banned_in_bulk(s: AsyncSession) -> None:
        await s.execute(update(Account).where(Account.id == -1).values(is_guest=False))

    async def grant(s: AsyncSession) -> None:
        from sidestage.platform.access.models import RoleGrant

        s.add(RoleGrant(account_id=(await _guest(s)).id, role=Role.SPEAKER))

    async def ballot(s: AsyncSession) -> None:  # a vote: in no copy
        await s.execute(update(PollBallot).where(PollBallot.poll_id == -1).values(poll_id=-2))

    async def chat_lines_in_bulk(s: AsyncSession) -> None:  # of which rooms is unknown
        await s.execute(update(ChatMessage).where(ChatMessage.id == -1).values(text="x"))

    assert not await _moves(db, new_account)
    assert await _moves(db, renamed_account)
    assert not await _moves(db, untouched_account)
    assert await _moves(db, banned_in_bulk)
    assert await _moves(db, grant)
    assert not await _moves(db, ballot)
    assert await _moves(db, chat_lines_in_bulk)


async def test_a_room_s_rows_move_only_that_room_s_epoch(db: Factory, world: World) -> None:
    epochs = _epochs(db)
    room, other = world.public.id, world.closed.id
    before = (await epochs.current(), await epochs.of_room(room), await epochs.of_room(other))
    async with transaction(db) as s:
        s.add(Tool(session_id=room, title="Map", url="https://example.org/map"))
    assert await epochs.current() == before[0]
    assert await epochs.of_room(room) != before[1]
    assert await epochs.of_room(other) == before[2]


async def test_a_new_chat_message_moves_no_epoch_and_a_deletion_its_room_s(
    db: Factory, world: World
) -> None:
    """New messages reach the room's snapshots as events (``rooms/room/snapshot.py``):
    a chatting room's copies outlive its chat. A deleted one must leave them."""
    epochs, room = _epochs(db), world.public.id
    before = (await epochs.current(), await epochs.of_room(room))
    async with transaction(db) as s:
        author = (await _guest(s)).id
        message = ChatMessage(session_id=room, account_id=author, author_name="N", text="hi")
        s.add(message)
    assert (await epochs.current(), await epochs.of_room(room)) == before
    async with transaction(db) as s:
        found = await s.get(ChatMessage, message.id)
        assert found is not None
        found.deleted_at = utcnow()
    assert await epochs.of_room(room) != before[1]


# Its two cases (one per database) count in the same Redis keys: never side by side.
@pytest.mark.xdist_group("epoch_counts_in_redis")
async def test_a_command_reads_its_room_s_epoch_once(db: Factory, world: World) -> None:
    """Through Redis, as processes share them: the global and the room's epoch come from
    one read, and a command (one database session) keeps the room's epoch it first read,
    as it keeps the global one; the next command reads the room's change."""
    redis = connect_redis(REDIS_URL)
    epochs, room = _epochs(db, redis), world.public.id
    try:
        assert await epochs.current_and_room(room) == (
            await epochs.current(),
            await epochs.of_room(room),
        )
        async with db() as command:
            first = await epochs.of_room_in(command, room)
            async with transaction(db) as s:  # meanwhile, a tool shared in the room
                s.add(Tool(session_id=room, title="Map", url="https://example.org/map"))
            await epochs.settled()
            assert await epochs.of_room_in(command, room) == first
        async with db() as next_command:
            assert await epochs.of_room_in(next_command, room) == await epochs.of_room(room)
            assert await epochs.of_room_in(next_command, room) != first
    finally:
        epochs.close()
        await redis.aclose()


async def test_a_rolled_back_change_keeps_the_epoch(db: Factory) -> None:
    epochs = _epochs(db)
    before = await epochs.current()
    with pytest.raises(RuntimeError):
        async with transaction(db) as s:
            (await _guest(s)).display_name = "Changed"
            await s.flush()
            raise RuntimeError("abandoned")
    assert await epochs.current() == before


async def test_copies_read_once_for_everyone_asking_at_once(db: Factory) -> None:
    """A join storm's first hundred entrants wait for one read of the room, not a hundred;
    if that read fails, each waiter reads for itself."""
    reads: list[int] = []
    started, release = asyncio.Event(), asyncio.Event()

    async def read(s: AsyncSession, key: int) -> list[int]:
        reads.append(key)
        started.set()
        await release.wait()
        if len(reads) == 1 and key == 2:
            raise RuntimeError("the first read of room 2 fails")
        return [key, len(reads)]

    copies: Copies[int, list[int]] = Copies(read)
    async with db() as s:
        epoch = await _epochs(db).current()
        waiting = [asyncio.ensure_future(copies.get(s, 1, epoch)) for _ in range(5)]
        await asyncio.wait_for(started.wait(), 5)  # the others started before, and wait
        release.set()
        values = await asyncio.gather(*waiting)
        assert reads == [1] and all(v is values[0] for v in values)

        reads.clear()
        started.clear()
        release.clear()
        failing = [asyncio.ensure_future(copies.get(s, 2, epoch)) for _ in range(3)]
        await asyncio.wait_for(started.wait(), 5)
        release.set()
        outcomes = await asyncio.gather(*failing, return_exceptions=True)
        assert isinstance(outcomes[0], RuntimeError)
        assert all(isinstance(o, list) for o in outcomes[1:]) and len(reads) >= 2


async def test_entering_after_the_room_changed_shows_the_change(world: World) -> None:
    """Each process keeps one snapshot of what every entrant is sent; what changes the
    room (a message, a poll opened or closed, a tool shared, a message deleted) replaces it."""
    room = {"session_id": world.public.id}
    first = await world.guest("First")
    assert (await first.ok("room.enter", room))["chat"] == []
    moderator = await world.with_role(Role.ORGANIZER)
    await moderator.ok("room.enter", room)
    said = await first.ok("chat.send", {**room, "text": "hello"})
    poll = await moderator.ok("poll.create", {**room, "question": "?", "options": ["a", "b"]})
    await moderator.ok("poll.open", poll)
    tool = {**room, "title": "Survey", "url": "https://example.org/survey"}
    await moderator.ok("tool.launch", tool)

    second = await (await world.guest("Second")).ok("room.enter", room)
    assert [m["text"] for m in second["chat"]] == ["hello"]
    assert [p["poll_id"] for p in second["polls"]] == [poll["poll_id"]]
    assert [t["title"] for t in second["tools"]] == ["Survey"]

    await moderator.ok("poll.close", poll)
    await moderator.ok("chat.delete", {"message_id": said["id"]})
    third = await (await world.guest("Third")).ok("room.enter", room)
    assert third["chat"] == []
    assert [(p["poll_id"], p["status"]) for p in third["polls"]] == [(poll["poll_id"], "closed")]


async def test_the_entry_snapshot_follows_questions_upvotes_and_the_stage(world: World) -> None:
    """Questions shown to all, who upvoted, and the lineup are in the snapshot; a question
    waiting for a moderator reaches its author's entry alone, in the room's order."""
    room = {"session_id": world.public.id}
    moderator = await world.with_role(Role.ORGANIZER)
    asker, fan = await world.guest("Asker"), await world.guest("Fan")
    for person in (moderator, asker, fan):
        await person.ok("room.enter", room)
    shown = await asker.ok("qa.ask", {**room, "text": "Shown to all?"})
    await moderator.ok("qa.queue", {**room, "moderated": True})
    queued = await asker.ok("qa.ask", {**room, "text": "Waiting for approval?"})
    await fan.ok("room.enter", room)  # the snapshot, read before the upvote
    await fan.ok("qa.upvote", {"question_id": shown["question_id"]})

    mine = await asker.ok("room.enter", room)
    assert [q["id"] for q in mine["questions"]] == [shown["question_id"], queued["question_id"]]
    assert mine["questions"][0]["upvotes"] == 1 and mine["upvoted"] == []
    theirs = await fan.ok("room.enter", room)
    assert [q["id"] for q in theirs["questions"]] == [shown["question_id"]]
    assert theirs["upvoted"] == [shown["question_id"]]
    everyone = await moderator.ok("room.enter", room)
    assert {q["id"] for q in everyone["questions"]} == {shown["question_id"], queued["question_id"]}

    speaker_token = await user_with_role(
        world.db,  # type: ignore[arg-type]
        world.http,
        Role.SPEAKER,  # type: ignore[arg-type]
        session_id=world.public.id,
    )
    me = await world.http.get("/api/me", headers=bearer(speaker_token))
    on_stage = {**room, "account_id": int((await me.json())["id"])}
    await moderator.ok("stage.put_on", on_stage)
    entry = await (await world.guest("Late")).ok("room.enter", room)
    assert [s["account_id"] for s in entry["stage"]["speakers"]] == [on_stage["account_id"]]
    await moderator.ok("stage.take_off", on_stage)
    entry = await (await world.guest("Later")).ok("room.enter", room)
    assert entry["stage"]["speakers"] == []


async def test_a_role_granted_mid_connection_counts_at_once(world: World) -> None:
    """The connection's copy of who it is gives way on the command after the grant."""
    organizer = await user_with_role(world.db, world.http, Role.ORGANIZER)  # type: ignore[arg-type]
    email = "newly-moderating@example.org"
    member = await world.connect(await registered_token(world.http, email))
    room = {"session_id": world.public.id}
    await member.ok("room.enter", room)
    slow = {**room, "seconds": 5}
    assert (await member.call("chat.slow_mode", slow))["error"]["code"] == "chat.forbidden"

    granted = await world.http.post(
        "/api/roles",
        json={"email": email, "role": "moderator", "session_id": world.public.id},
        headers=bearer(organizer),
    )
    assert granted.status == 201
    await member.ok("chat.slow_mode", slow)

    grant_id = (await granted.json())["id"]
    revoked = await world.http.delete(f"/api/roles/{grant_id}", headers=bearer(organizer))
    assert revoked.status == 200
    assert (await member.call("chat.slow_mode", slow))["error"]["code"] == "chat.forbidden"


async def test_a_vote_moves_its_poll_s_version_and_no_epoch(world: World) -> None:
    """Tallies carry the poll's version, one more per vote, so clients can keep the newest
    when processes' tallies cross; votes leave what rooms keep untouched."""
    room = {"session_id": world.public.id}
    moderator = await world.with_role(Role.ORGANIZER)
    await moderator.ok("room.enter", room)
    poll = await moderator.ok("poll.create", {**room, "question": "?", "options": ["a", "b"]})
    await moderator.ok("poll.open", poll)
    epochs = world.http.app[REALTIME].services.epochs
    before = await epochs.of_room(world.public.id)
    for number, name in enumerate(("First", "Second"), start=1):
        voter = await world.guest(name)
        await voter.ok("room.enter", room)
        await voter.ok("poll.vote", {**poll, "choices": [0]})
        tally = await moderator.wait_for(
            "poll.results_changed",
            lambda t, n=number: t["voters"] == n,  # type: ignore[misc]
        )
        assert tally["version"] == number and tally["counts"] == [number, 0]
    assert await epochs.of_room(world.public.id) == before


async def test_each_database_session_factory_moves_only_its_own_epochs(db: Factory) -> None:
    """Nothing is kept for the whole process: two apps in one process (as tests run them)
    each have their own counts, moved by their own sessions' commits."""
    mine, other = _epochs(db), _epochs(session_factory(db.kw["bind"]))
    before = (await mine.current(), await other.current())
    async with transaction(db) as s:
        (await _guest(s)).display_name = "Renamed"
    assert await mine.current() != before[0]
    assert await other.current() == before[1]


async def test_copies_read_only_tables_whose_changes_they_follow(db: Factory, world: World) -> None:
    """A copy read from a table that moves no epoch would be served stale for up to
    ``MAX_AGE``: each kind of copy reads only the tables it declares (``KEPT``), or those
    it follows otherwise (``ALSO_READ``, each with its reason beside it)."""
    read: list[str] = []
    engine = db.kw["bind"].sync_engine

    def statement(conn, cursor, sql: str, *rest) -> None:  # type: ignore[no-untyped-def]
        read.extend(re.findall(r'\b(?:FROM|JOIN)\s+"?(\w+)"?', sql))

    token = await registered_token(world.http)
    await user_with_role(db, world.http, Role.SPEAKER, session_id=world.public.id)
    epochs = _epochs(db)
    event.listen(engine, "before_cursor_execute", statement)
    try:
        async with db() as s:
            room, epoch = world.public.id, await epochs.of_room(world.public.id)
            await RoomSnapshots(lambda *_: []).get(s, room, epoch)
            snapshot_read, read[:] = set(read), []
            await room_configs().get(s, room, await epochs.current())
            config_read, read[:] = set(read), []
        await Identities(db, epochs).of_token(token)
        identities_read = set(read)
    finally:
        event.remove(engine, "before_cursor_execute", statement)
    for found, module in (
        (snapshot_read, snapshot),
        (config_read, room_config),
        (identities_read, identities),
    ):
        declared = {kept.model.__tablename__ for kept in module.KEPT}
        declared |= {model.__tablename__ for model in getattr(module, "ALSO_READ", ())}
        assert found and found <= declared, (module.__name__, found - declared)
