"""Live rooms with real Socket.IO clients against one real server (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import timedelta
from typing import Any

import pytest
import socketio
from sqlalchemy import event, func, select, update
from sqlalchemy.engine import Engine

from sidestage.platform.access.models import Role
from sidestage.platform.accounts.models import Account
from sidestage.platform.db import transaction, utcnow
from sidestage.realtime.server import REALTIME
from sidestage.rooms.attendance import service as attendance
from sidestage.rooms.attendance.models import AttendanceInterval
from sidestage.rooms.chat.models import ChatMessage
from sidestage.rooms.polls.models import PollBallot
from tests.helpers import bearer, guest_token, user_with_role
from tests.live import WAIT, Client
from tests.rooms_world import World


async def test_refused_connections(world: World) -> None:
    for token in ("", "not-a-token"):
        refused = Client(world.url, token)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await refused.connect()
        assert refused.received["connect_error"][0]["data"]["code"] == "auth.sign_in_required"
    token = await guest_token(world.http, "Troll")
    async with transaction(world.db) as s:  # type: ignore[arg-type]
        await s.execute(
            update(Account).where(Account.display_name == "Troll").values(banned_at=utcnow())
        )
    banned = Client(world.url, token)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await banned.connect()
    assert banned.received["connect_error"][0]["data"]["code"] == "auth.banned"


async def test_entering_rooms(world: World) -> None:
    guest = await world.guest()
    on_site = await guest.call("room.enter", {"session_id": world.on_site.id})
    assert on_site["error"]["code"] == "room.not_live"
    closed = await guest.call("room.enter", {"session_id": world.closed.id})
    assert closed["error"]["code"] == "room.forbidden"
    missing = await guest.call("room.enter", {"session_id": 999999})
    assert missing["error"]["code"] == "room.not_found"
    not_in = await guest.call("chat.send", {"session_id": world.public.id, "text": "hi"})
    assert not_in["error"]["code"] == "room.not_entered"
    invited = await world.invited_guest(world.closed)
    assert (await invited.call("room.enter", {"session_id": world.closed.id}))["ok"]


async def test_a_connection_flooding_commands_is_told_to_slow_down_alone(world: World) -> None:
    token = await guest_token(world.http, "Flooder")
    flooding, other_tab = await world.connect(token), await world.connect(token)
    room = {"session_id": world.public.id}
    answers = [await flooding.call("room.enter", room) for _ in range(31)]
    assert all(answer["ok"] for answer in answers[:30])
    refused = answers[30]["error"]
    assert refused["code"] == "server.rate_limited"
    assert 0 < refused["details"]["retry_after"] <= 5
    assert (await other_tab.call("room.enter", room))["ok"]  # the limit is the connection's


async def test_reconnect_catches_up_without_gaps_or_doubles(world: World) -> None:
    room = {"session_id": world.public.id}
    writer, reader = await world.guest("Writer"), await world.guest("Reader")
    await writer.ok("room.enter", room)
    await reader.ok("room.enter", room)
    first = await writer.ok("chat.send", {**room, "text": "one"})
    await reader.wait_for("chat.posted", lambda m: m["id"] == first["id"])
    await reader.close()
    missed = [(await writer.ok("chat.send", {**room, "text": t}))["id"] for t in ("two", "three")]
    again = await world.connect(reader.token)
    state = await again.ok("room.enter", {**room, "since": first["id"]})
    assert [m["id"] for m in state["chat"]] == missed and state["chat_truncated"] is False
    # A resend with the same client id after a drop is the same message, not a second one.
    a = await writer.ok("chat.send", {**room, "text": "once", "client_id": "c-42"})
    b = await writer.ok("chat.send", {**room, "text": "once", "client_id": "c-42"})
    assert a["id"] == b["id"]
    # Resends do not count against the limit (five in ten seconds; four sent so far)...
    for _ in range(3):
        resent = await writer.ok("chat.send", {**room, "text": "once", "client_id": "c-42"})
        assert resent["id"] == a["id"]
    await writer.ok("chat.send", {**room, "text": "fifth"})
    # ...and a message refused by it leaves nothing behind.
    refused = await writer.call("chat.send", {**room, "text": "sixth", "client_id": "c-43"})
    assert refused["error"]["code"] == "chat.rate_limited"
    async with world.db() as s:
        texts = list(await s.scalars(select(ChatMessage.text).order_by(ChatMessage.id)))
    assert texts == ["one", "two", "three", "once", "fifth"]


async def test_chat_limits_and_moderation(world: World) -> None:
    room = {"session_id": world.public.id}
    moderator = await world.with_role(Role.MODERATOR, session_id=world.public.id)
    talker, other = await world.guest("Talker"), await world.guest("Other")
    for c in (moderator, talker, other):
        await c.ok("room.enter", room)
    too_long = await talker.call("chat.send", {**room, "text": "x" * 1001})
    assert too_long["error"]["code"] == "chat.too_long"
    empty = await talker.call("chat.send", {**room, "text": "   "})
    assert empty["error"]["code"] == "chat.empty"
    answers = [await talker.call("chat.send", {**room, "text": f"m{n}"}) for n in range(6)]
    assert [a["ok"] for a in answers] == [True] * 5 + [False]
    assert answers[5]["error"]["code"] == "chat.rate_limited"

    own = answers[0]["data"]["id"]
    theirs = (await other.ok("chat.send", {**room, "text": "mine"}))["id"]
    refused = await talker.call("chat.delete", {"message_id": theirs})
    assert refused["error"]["code"] == "chat.forbidden"
    await talker.ok("chat.delete", {"message_id": own})
    await other.wait_for("chat.deleted", lambda d: d["id"] == own)
    await moderator.ok("chat.delete", {"message_id": theirs})

    await moderator.ok("chat.slow_mode", {**room, "seconds": 30})
    await other.wait_for("chat.slow_mode_changed", lambda d: d["seconds"] == 30)
    await other.ok("chat.send", {**room, "text": "first under slow mode"})
    slowed = await other.call("chat.send", {**room, "text": "second"})
    assert slowed["error"]["code"] == "chat.slow_mode"
    await moderator.ok("chat.send", {**room, "text": "moderators are not slowed"})
    await moderator.ok("chat.send", {**room, "text": "really"})

    state = await moderator.ok("room.enter", room)
    other_id = next(
        m["author"]["id"] for m in state["chat"] if m["text"] == "first under slow mode"
    )
    await moderator.ok("chat.mute", {**room, "account_id": other_id, "minutes": 5})
    await other.wait_for("chat.muted")
    await moderator.ok("chat.slow_mode", {**room, "seconds": 0})
    muted = await other.call("chat.send", {**room, "text": "can I?"})
    assert muted["error"]["code"] == "chat.muted"

    page = await talker.ok("chat.history", {**room, "before": state["chat"][-1]["id"]})
    assert [m["id"] for m in page["messages"]] == [m["id"] for m in state["chat"][:-1]]


async def test_polls(world: World) -> None:
    room = {"session_id": world.public.id}
    moderator = await world.with_role(Role.MODERATOR, session_id=world.public.id)
    voter, late = await world.guest("Voter"), await world.guest("Late")
    await moderator.ok("room.enter", room)
    await voter.ok("room.enter", room)
    for bad in ([], ["only one"], [str(n) for n in range(11)], ["same", "same"]):
        answer = await moderator.call("poll.create", {**room, "question": "Q?", "options": bad})
        assert answer["error"]["code"] == "poll.bad_options", bad
    made = await moderator.ok(
        "poll.create",
        {
            **room,
            "question": "Which tools?",
            "multiple": True,
            "options": ["Guides", "Data", "Training"],
            "results": "after_vote",
        },
    )
    poll = {"poll_id": made["poll_id"]}
    early = await voter.call("poll.vote", {**poll, "choices": [0]})
    assert early["error"]["code"] == "poll.closed"
    await moderator.ok("poll.open", poll)
    opened = await voter.wait_for("poll.opened")
    assert opened["question"] == "Which tools?" and opened["results"] == "after_vote"
    await voter.ok("poll.vote", {**poll, "choices": [0, 2]})
    mine = await voter.wait_for("poll.results_changed", lambda r: r["voters"] == 1)
    assert mine["counts"] == [1, 0, 1]
    await voter.ok("poll.vote", {**poll, "choices": [1]})  # change while open
    await moderator.wait_for("poll.results_changed", lambda r: r["counts"] == [0, 1, 0])
    for bad in ([5], [0, 0], [-1]):
        assert not (await voter.call("poll.vote", {**poll, "choices": bad}))["ok"]

    state = await late.ok("room.enter", room)  # late joiner gets the open poll, no results yet
    entry = next(p for p in state["polls"] if p["poll_id"] == made["poll_id"])
    assert entry["own"] is None and "tally" not in entry
    assert "poll.results_changed" not in late.received
    await moderator.ok("poll.close", poll)
    assert (await voter.call("poll.vote", {**poll, "choices": [2]}))["error"][
        "code"
    ] == "poll.closed"
    final = await late.wait_for("poll.results_changed")
    assert final["counts"] == [0, 1, 0]
    for again in (late, voter, await world.guest("After")):  # a reload, or someone new
        closed = next(
            p
            for p in (await again.ok("room.enter", room))["polls"]
            if p["poll_id"] == made["poll_id"]
        )
        assert closed["status"] == "closed" and closed["tally"]["counts"] == [0, 1, 0]
    assert closed["own"] is None
    await moderator.ok("poll.open", poll)  # reopened, votes kept
    await voter.ok("poll.vote", {**poll, "choices": [2]})
    await moderator.ok("poll.close", poll)  # the entry's kept tally follows the new vote
    again = (await late.ok("room.enter", room))["polls"]
    assert next(p for p in again if p["poll_id"] == made["poll_id"])["tally"]["counts"] == [0, 0, 1]
    exported = await world.http.get(
        f"/api/polls/{made['poll_id']}/results.csv", headers=bearer(await _moderator_token(world))
    )
    rows = list(csv.reader(io.StringIO(await exported.text(encoding="utf-8-sig"))))
    assert rows[2:5] == [["Guides", "0"], ["Data", "0"], ["Training", "1"]]


async def _moderator_token(world: World) -> str:
    return await user_with_role(world.db, world.http, Role.MODERATOR, session_id=world.public.id)  # type: ignore[arg-type]


async def test_one_vote_per_person_across_tabs(world: World) -> None:
    room = {"session_id": world.public.id}
    moderator = await world.with_role(Role.MODERATOR, session_id=world.public.id)
    token = await guest_token(world.http, "Two tabs")
    tabs = [await world.connect(token) for _ in range(2)]
    await moderator.ok("room.enter", room)
    for tab in tabs:
        await tab.ok("room.enter", room)
    made = await moderator.ok("poll.create", {**room, "question": "?", "options": ["a", "b"]})
    await moderator.ok("poll.open", {"poll_id": made["poll_id"]})
    await asyncio.gather(
        *(
            tab.ok("poll.vote", {"poll_id": made["poll_id"], "choices": [n]})
            for n, tab in enumerate(tabs)
        )
    )
    results = await moderator.wait_for("poll.results_changed", lambda r: r["voters"] == 1)
    assert sum(results["counts"]) == 1
    async with world.db() as s:  # type: ignore[attr-defined]
        assert await s.scalar(select(func.count()).select_from(PollBallot)) == 1


def _reads_of_a_poll_by_id(statements: list[str]) -> int:
    return sum(
        1 for text in statements if text.startswith("SELECT polls.id") and "polls.id = " in text
    )


async def test_a_vote_burst_finds_its_poll_in_the_room_snapshot(world: World) -> None:
    """Votes look their poll up in the room's snapshot, not in the database: stock, each
    vote read it twice. The results ticker still reads it once per tally it sends."""
    room = {"session_id": world.public.id}
    moderator = await world.with_role(Role.MODERATOR, session_id=world.public.id)
    voters = [await world.guest(f"Voter {n}") for n in range(20)]
    for person in [moderator, *voters]:
        await person.ok("room.enter", room)
    made = await moderator.ok("poll.create", {**room, "question": "?", "options": ["a", "b"]})
    poll = {"poll_id": made["poll_id"]}
    await moderator.ok("poll.open", poll)
    await voters[0].ok("poll.vote", {**poll, "choices": [0]})  # learns the poll's room
    statements: list[str] = []

    def note(conn: Any, cursor: Any, text: str, *rest: Any) -> None:
        statements.append(text)

    event.listen(Engine, "before_cursor_execute", note)
    try:
        await asyncio.gather(*(v.ok("poll.vote", {**poll, "choices": [1]}) for v in voters[1:]))
    finally:
        event.remove(Engine, "before_cursor_execute", note)
    results = await moderator.wait_for("poll.results_changed", lambda r: r["voters"] == 20)
    assert results["counts"] == [1, 19]
    assert _reads_of_a_poll_by_id(statements) < len(voters) - 1  # stock: twice per vote


async def test_questions(world: World) -> None:
    room = {"session_id": world.public.id}
    moderator = await world.with_role(Role.MODERATOR, session_id=world.public.id)
    asker, fan, fan2 = (
        await world.guest("Asker"),
        await world.guest("Fan"),
        await world.guest("Fan 2"),
    )
    for c in (moderator, asker, fan, fan2):
        await c.ok("room.enter", room)
    first = await asker.ok("qa.ask", {**room, "text": "Anonymous question?", "anonymous": True})
    second = await asker.ok("qa.ask", {**room, "text": "Second question?"})
    public = await fan.wait_for("qa.question_added", lambda q: q["id"] == first["question_id"])
    assert public["author"] is None
    # Moderators are in the room too: their own copy (with the author, no seq) also comes.
    private = await moderator.wait_for(
        "qa.question_added", lambda q: q["id"] == first["question_id"] and q["author"]
    )
    assert private["author"]["name"] == "Asker"
    await fan.ok("qa.upvote", {"question_id": second["question_id"]})
    await fan2.ok("qa.upvote", {"question_id": second["question_id"]})
    again = await fan.call("qa.upvote", {"question_id": second["question_id"]})
    assert again["error"]["code"] == "qa.already_upvoted"
    own = await asker.call("qa.upvote", {"question_id": first["question_id"]})
    assert own["error"]["code"] == "qa.own_question"
    state = await fan.ok("room.enter", room)
    assert [q["id"] for q in state["questions"]] == [second["question_id"], first["question_id"]]
    assert state["upvoted"] == [second["question_id"]]
    await moderator.ok("qa.moderate", {"question_id": first["question_id"], "action": "pin"})
    state = await fan.ok("room.enter", room)
    assert state["questions"][0]["id"] == first["question_id"]
    refused = await fan.call("qa.withdraw", {"question_id": second["question_id"]})
    assert refused["error"]["code"] == "qa.forbidden"
    await asker.ok("qa.withdraw", {"question_id": second["question_id"]})
    await fan.wait_for("qa.question_removed", lambda q: q["id"] == second["question_id"])

    await moderator.ok("qa.queue", {**room, "moderated": True})
    queued = await asker.ok("qa.ask", {**room, "text": "Needs approval?"})
    assert queued["status"] == "pending"
    await moderator.wait_for("qa.question_added", lambda q: q["id"] == queued["question_id"])
    assert not any(q["id"] == queued["question_id"] for q in fan.received["qa.question_added"])
    await moderator.ok("qa.moderate", {"question_id": queued["question_id"], "action": "approve"})
    shown = await fan.wait_for("qa.question_changed", lambda q: q["id"] == queued["question_id"])
    assert shown["status"] == "visible"
    exported = await world.http.get(
        f"/api/sessions/{world.public.id}/questions.csv",
        headers=bearer(await _moderator_token(world)),
    )
    assert "Anonymous question?" in await exported.text()


async def test_attendance_intervals_and_report(world: World) -> None:
    room = {"session_id": world.closed.id}
    invited = await world.invited_guest(world.closed, "From partner")
    second_tab = await world.connect(invited.token)
    await invited.ok("room.enter", room)
    await second_tab.ok("room.enter", room)
    async with world.db() as s:  # type: ignore[attr-defined]
        open_now = await s.scalar(
            select(func.count())
            .select_from(AttendanceInterval)
            .where(AttendanceInterval.ended_at.is_(None))
        )
    assert open_now == 1  # two tabs, one stay
    # Both leave by command: each answer comes after its departure is committed (a
    # disconnect is handled whenever the server gets to it, maybe after the next line).
    await invited.ok("room.leave", room)
    await second_tab.ok("room.leave", room)
    organizer = await user_with_role(world.db, world.http, Role.ORGANIZER)  # type: ignore[arg-type]
    report = await (
        await world.http.get(
            f"/api/sessions/{world.closed.id}/attendance", headers=bearer(organizer)
        )
    ).json()
    assert report["unique_attendees"] == 1 and report["peak_concurrent"] == 1
    assert report["by_organization"][0]["organization_id"] == world.closed.host_organization_id
    async with world.db() as s:  # type: ignore[attr-defined]
        intervals = (await s.scalars(select(AttendanceInterval))).all()
    assert len(intervals) == 1 and intervals[0].ended_at is not None
    csv_text = await (
        await world.http.get(
            f"/api/sessions/{world.closed.id}/attendance.csv", headers=bearer(organizer)
        )
    ).text()
    assert "From partner" in csv_text
    guest = await guest_token(world.http)
    refused = await world.http.get(
        f"/api/sessions/{world.closed.id}/attendance", headers=bearer(guest)
    )
    assert refused.status == 403


async def test_a_disconnect_ends_the_stay(world: World) -> None:
    person = await world.guest("Brief visit")
    await person.ok("room.enter", {"session_id": world.public.id})
    await person.close()

    async def ended() -> bool:
        async with world.db() as s:  # type: ignore[attr-defined]
            stays = list(await s.scalars(select(AttendanceInterval)))
        return len(stays) == 1 and stays[0].ended_at is not None

    await _until_async(ended)


@pytest.mark.parametrize("held_at", ["presence", "stay"])
async def test_a_disconnect_during_entry_leaves_no_one_counted(
    world: World, monkeypatch: pytest.MonkeyPatch, held_at: str
) -> None:
    """The disconnect is handled while room.enter waits, before the person is counted in
    (``presence``) or before their stay is written (``stay``): once the entry finishes,
    the person is neither counted in the room nor staying."""
    realtime = world.http.server.app[REALTIME]
    services = realtime.services
    reached, release = asyncio.Event(), asyncio.Event()
    owner, name = (services.presence, "join") if held_at == "presence" else (services.stays, "open")
    original = getattr(owner, name)

    async def held(*arguments: Any) -> Any:
        reached.set()
        await release.wait()
        return await original(*arguments)

    monkeypatch.setattr(owner, name, held)
    person = await world.guest("Leaves at once")
    entering = asyncio.ensure_future(person.call("room.enter", {"session_id": world.public.id}))
    await asyncio.wait_for(reached.wait(), WAIT)
    await person.close()
    await _until(lambda: not realtime.transport.connections)  # the disconnect was handled
    release.set()

    async def nobody_left() -> bool:
        counts = await services.presence.counts([world.public.id])
        async with world.db() as s:  # type: ignore[attr-defined]
            stays = list(await s.scalars(select(AttendanceInterval)))
        return counts[world.public.id] == 0 and all(stay.ended_at for stay in stays)

    await _until_async(nobody_left)
    entering.cancel()


async def _until(condition) -> None:  # type: ignore[no-untyped-def]
    async def met() -> bool:
        return bool(condition())

    await _until_async(met)


async def _until_async(condition) -> None:  # type: ignore[no-untyped-def]
    async def wait() -> None:
        while True:
            if await condition():
                return
            await asyncio.sleep(0.02)  # polling the server's state: no client can see it

    await asyncio.wait_for(wait(), WAIT)


async def test_the_heartbeat_touches_exactly_the_open_stays_of_people_here(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(attendance, "TOUCH_BATCH", 2)  # several batches in one room
    for name in ("A", "B", "C", "D"):
        await guest_token(world.http, name)
    async with world.db() as s:  # type: ignore[attr-defined]
        people = list(await s.scalars(select(Account.id).order_by(Account.id).limit(4)))
    # Seen lately enough that the server's own sweeper, running meanwhile, leaves them open.
    long_ago = utcnow() - attendance.STALE_AFTER / 3
    public, closed = world.public.id, world.closed.id
    stays = [(public, p, None) for p in people[:3]] + [(closed, people[0], None)]
    stays += [(public, people[3], long_ago)]  # an ended stay stays ended, untouched
    async with transaction(world.db) as s:  # type: ignore[arg-type]
        for session_id, account_id, ended in stays:
            s.add(
                AttendanceInterval(
                    session_id=session_id,
                    account_id=account_id,
                    started_at=long_ago,
                    last_seen_at=long_ago,
                    ended_at=ended,
                )
            )
    here = {(public, people[0]), (public, people[1]), (public, people[2]), (public, people[3])}
    async with transaction(world.db) as s:  # type: ignore[arg-type]
        await attendance.touch(s, here)
    async with world.db() as s:  # type: ignore[attr-defined]
        rows = await s.execute(
            select(AttendanceInterval.session_id, AttendanceInterval.account_id).where(
                AttendanceInterval.last_seen_at > long_ago
            )
        )
        touched = {(session_id, account_id) for session_id, account_id in rows}
    assert touched == {(public, people[0]), (public, people[1]), (public, people[2])}


async def test_sweeper_closes_stays_a_dead_process_left_open(world: World) -> None:
    """A stay last vouched for now, swept as the sweeper will once it has gone stale: the
    app's own sweeper (every few seconds) cannot get to it first."""
    await guest_token(world.http, "Left behind")
    async with world.db() as s:  # type: ignore[attr-defined]
        account_id = await s.scalar(select(Account.id).limit(1))
    last_seen = utcnow()
    async with transaction(world.db) as s:  # type: ignore[arg-type]
        s.add(
            AttendanceInterval(
                session_id=world.public.id,
                account_id=account_id,
                started_at=last_seen - timedelta(minutes=20),
                last_seen_at=last_seen,
            )
        )
    later = last_seen + attendance.STALE_AFTER + timedelta(minutes=1)
    async with transaction(world.db) as s:  # type: ignore[arg-type]
        assert await attendance.sweep_stale(s, now=later) == 1
    async with world.db() as s:  # type: ignore[attr-defined]
        closed = await s.scalar(select(AttendanceInterval))
    assert closed is not None and closed.ended_at == last_seen


async def test_tools_and_counted_clicks(world: World) -> None:
    room = {"session_id": world.closed.id}
    host = await world.with_role(Role.HOST, organization_id=world.closed.host_organization_id)
    invited = await world.invited_guest(world.closed)
    await invited.ok("room.enter", room)
    refused = await invited.call("tool.launch", {**room, "title": "X", "url": "https://x.org"})
    assert refused["error"]["code"] == "tool.forbidden"
    bad = await host.call("tool.launch", {**room, "title": "X", "url": "javascript:alert(1)"})
    assert bad["error"]["code"] == "tool.bad_url"
    await host.ok(
        "tool.launch",
        {
            **room,
            "title": "Inspection toolkit",
            "url": "https://example.org/kit",
            "description": "Free",
        },
    )
    tool = await invited.wait_for("tool.launched")
    clicked = await world.http.get(
        tool["link"], headers=bearer(invited.token), allow_redirects=False
    )
    assert clicked.status == 302 and clicked.headers["Location"] == "https://example.org/kit"
    state = await invited.ok("room.enter", room)
    assert [t["title"] for t in state["tools"]] == ["Inspection toolkit"]
    figures = await (
        await world.http.get(f"/api/sessions/{world.closed.id}/tools", headers=bearer(host.token))
    ).json()
    assert figures[0]["clicks"] == {str(world.closed.host_organization_id): 1}


async def test_removed_participant_stays_out(world: World) -> None:
    room = {"session_id": world.public.id}
    moderator = await world.with_role(Role.MODERATOR, session_id=world.public.id)
    troll = await world.guest("Troll")
    await moderator.ok("room.enter", room)
    state = await troll.ok("room.enter", room)
    sent = await troll.ok("chat.send", {**room, "text": "spam"})
    async with world.db() as s:  # type: ignore[attr-defined]
        troll_id = (await s.get(ChatMessage, sent["id"])).account_id  # type: ignore[union-attr]
    await moderator.ok("room.remove", {**room, "account_id": troll_id})
    await troll.wait_for("room.removed")
    assert (await troll.call("chat.send", {**room, "text": "more"}))["error"][
        "code"
    ] == "room.removed"
    assert (await troll.call("room.enter", room))["error"]["code"] == "room.removed"
    await moderator.ok("chat.send", {**room, "text": "back to the topic"})
    await moderator.wait_for("chat.posted", lambda m: m["text"] == "back to the topic")
    assert not any(m["text"] == "back to the topic" for m in troll.received["chat.posted"])
    assert "count" in state


async def test_marathon_feed(world: World) -> None:
    watcher, guest = await world.guest("Watcher"), await world.guest("Joiner")
    await watcher.ok("marathon.watch", {})
    await guest.ok("room.enter", {"session_id": world.public.id})
    # Every live room is listed (the program is re-read every 5 s), the joined one with 1.
    feed = await watcher.wait_for(
        "marathon.counts",
        lambda d: (
            d["counts"].get(str(world.public.id)) == 1 and str(world.closed.id) in d["counts"]
        ),
    )
    assert len(feed["counts"]) == 16


async def test_browser_session_cookie_is_enough(world: World) -> None:
    """Browsers connect with their session cookie and no auth payload."""
    token = await guest_token(world.http, "Browser")
    browser = socketio.AsyncClient(reconnection=False)
    await browser.connect(
        world.url,
        headers={"Cookie": f"sidestage_session={token}"},
        transports=["websocket"],
        wait_timeout=10,
    )
    try:
        answer = await browser.call("room.enter", {"session_id": world.public.id}, timeout=10)
        assert answer["ok"] and answer["data"]["session_id"] == world.public.id
    finally:
        await browser.disconnect()
