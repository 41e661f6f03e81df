"""Two Sidestage processes on a PostgreSQL and a Redis of their own, participants that do
exactly what docs/protocol.md tells a client to do, and the counts a fault test checks.

Each participant keeps the room's number (``seq``): it applies the event after the last
one applied, holds events while its entry is on its way, enters again with
``since_seq`` after a reconnect (to whichever process still answers) and after a jump in
the numbers. What it applied is compared, message by message, with what the database
holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import socketio
from sqlalchemy import select

from sidestage.migrations import upgrade_async
from sidestage.platform.access.models import Role, RoleGrant
from sidestage.platform.accounts.models import Account
from sidestage.platform.db import create_engine, session_factory, transaction
from sidestage.platform.demo import load_demo
from sidestage.platform.program.models import Session
from sidestage.rooms.chat.models import ChatMessage
from sidestage.rooms.feed.models import RoomEvent
from sidestage.rooms.polls.models import PollChoice
from sidestage.rooms.qa.models import Question
from tests.live import WAIT, ServerProcess

RETRYABLE = {"server.unavailable", "server.rate_limited", "auth.sign_in_required"}
ACK_WITHIN = 15.0  # seconds: a command meeting a frozen database fails within its bound


@dataclass
class Participant:
    """One person's connection, following the protocol document."""

    token: str
    room: int
    servers: Callable[[], list[str]]  # the processes' addresses, the living first
    entry_seq: int | None = None  # the number of the first entry's state
    seq: int = 0  # the last room event applied
    seen_in_state: set[int] = field(default_factory=set)  # chat ids of the first entry
    applied: list[int] = field(default_factory=list)  # chat ids applied from events
    count: int = 0  # the room's count, from the entry and room.count_changed
    late_doubles: int = 0  # events at or below the last applied number
    gaps: int = 0  # jumps in the numbers (the server promises none)
    resumes: list[bool] = field(default_factory=list)  # whether each re-entry resumed
    sio: socketio.AsyncClient | None = None
    _held: list[tuple[str, dict[str, Any]]] | None = None
    _progress: asyncio.Event = field(default_factory=asyncio.Event)
    _reconnecting: asyncio.Task[None] | None = None
    _closing: bool = False

    async def join(self) -> None:
        await self._connect()
        await self._enter()

    async def _connect(self) -> None:
        last: BaseException | None = None
        for url in self.servers():
            client = socketio.AsyncClient(reconnection=False)
            client.on("*", self._on_event)
            client.on("disconnect", self._on_disconnect)
            try:
                await client.connect(
                    url, auth={"token": self.token}, transports=["websocket"], wait_timeout=5
                )
            except (socketio.exceptions.ConnectionError, OSError) as error:
                last = error
                await client.eio.disconnect(abort=True)
                continue
            self.sio = client
            return
        raise ConnectionError(f"no process took the connection: {last}")

    async def _enter(self) -> None:
        """Enter, or enter again from the last number applied; held events follow."""
        assert self.sio is not None
        self._held = []
        payload: dict[str, Any] = {"session_id": self.room}
        if self.entry_seq is not None:
            payload["since_seq"] = self.seq
        answer = await self.call("room.enter", payload)
        held, self._held = self._held, None
        assert answer["ok"], answer
        state = answer["data"]
        if self.entry_seq is None:
            self.entry_seq = state["seq"]
            self.seen_in_state = {m["id"] for m in state["chat"]}
        else:
            self.resumes.append(bool(state["resumed"]))
        self.seq, self.count = state["seq"], state["count"]
        self._progress.set()
        for name, data in held:
            self._apply(name, data)

    async def call(self, command: str, payload: dict[str, Any]) -> dict[str, Any]:
        """A command, sent again while the answer says to try again."""
        async with asyncio.timeout(WAIT * 6):
            while True:
                assert self.sio is not None
                try:
                    answer = dict(await self.sio.call(command, payload, timeout=ACK_WITHIN))
                except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError):
                    await self._wait_reconnected()
                    continue
                code = answer.get("error", {}).get("code") if not answer["ok"] else None
                if code not in RETRYABLE:
                    return answer
                await asyncio.sleep(answer["error"].get("details", {}).get("retry_after", 0.2))

    async def _wait_reconnected(self) -> None:
        if self._reconnecting is not None:
            await self._reconnecting

    async def _on_event(self, name: str, data: Any = None) -> None:
        if name == "room.count_changed" and isinstance(data, dict):
            self.count = int(data["count"])
            self._progress.set()
        if not isinstance(data, dict) or "seq" not in data or data.get("session_id") != self.room:
            return
        if self._held is not None:
            self._held.append((name, data))
        else:
            self._apply(name, data)

    def _apply(self, name: str, data: dict[str, Any]) -> None:
        if data["seq"] <= self.seq:
            self.late_doubles += 1
        elif data["seq"] > self.seq + 1:
            self.gaps += 1
            self._start_reconnect(same_connection=True)
        else:
            self.seq = data["seq"]
            if name == "chat.posted":
                self.applied.append(int(data["id"]))
            self._progress.set()

    async def counted(self, people: int) -> None:
        """Until the room's count, as this participant hears it, is ``people``."""
        while self.count != people:
            self._progress.clear()
            await self._progress.wait()

    async def reached(self, seq: int) -> None:
        """Until this participant applied the room's event numbered ``seq``."""
        while self.seq < seq:
            self._progress.clear()
            await self._progress.wait()

    async def _on_disconnect(self, reason: Any = None) -> None:
        if not self._closing:
            self._start_reconnect(same_connection=False)

    def _start_reconnect(self, same_connection: bool) -> None:
        if self._reconnecting is None or self._reconnecting.done():
            self._reconnecting = asyncio.create_task(self._reconnect(same_connection))

    async def _reconnect(self, same_connection: bool) -> None:
        async with asyncio.timeout(WAIT * 6):
            while True:
                try:
                    if not same_connection:
                        await self._connect()
                    await self._enter()
                    return
                except (ConnectionError, OSError, AssertionError):
                    same_connection = False
                    await asyncio.sleep(0.2)  # the processes are restarting: try again

    async def settled(self) -> None:
        """Wait for a reconnection under way, if any."""
        await self._wait_reconnected()

    async def close(self) -> None:
        self._closing = True
        if self._reconnecting is not None:
            self._reconnecting.cancel()
            with contextlib.suppress(BaseException):
                await self._reconnecting
        if self.sio is not None:
            with contextlib.suppress(Exception):
                await self.sio.disconnect()


@dataclass
class Sent:
    """What the speakers were told: acknowledged messages (by client id) and their ids."""

    acknowledged: dict[str, int] = field(default_factory=dict)
    grew: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self, client_id: str, message_id: int) -> None:
        self.acknowledged[client_id] = message_id
        self.grew.set()

    async def reach(self, count: int) -> None:
        while len(self.acknowledged) < count:
            self.grew.clear()
            await self.grew.wait()


async def talk(speaker: Participant, sent: Sent, stop: asyncio.Event, per_second: float) -> None:
    """Chat until ``stop``, each message resent (same client id) until acknowledged."""
    index = 0
    while not stop.is_set():
        client_id = uuid.uuid4().hex[:16]
        answer = await speaker.call(
            "chat.send", {"session_id": speaker.room, "text": f"m{index}", "client_id": client_id}
        )
        assert answer["ok"], answer
        sent.add(client_id, int(answer["data"]["id"]))
        index += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1 / per_second)  # the pace, not a wait for state


@dataclass
class Asked:
    """Votes and questions the participants were told were taken."""

    poll_id: int = 0
    votes: Counter[int] = field(default_factory=Counter)  # option -> acknowledged votes
    questions: set[str] = field(default_factory=set)  # client ids


async def vote_and_ask(person: Participant, asked: Asked, index: int) -> None:
    """One vote and one question, each sent again (same client id) until answered."""
    option = index % 2
    answer = await person.call("poll.vote", {"poll_id": asked.poll_id, "choices": [option]})
    assert answer["ok"], answer
    asked.votes[option] += 1
    client_id = uuid.uuid4().hex[:16]
    payload = {"session_id": person.room, "text": f"q{index}?", "client_id": client_id}
    answer = await person.call("qa.ask", payload)
    assert answer["ok"], answer
    asked.questions.add(client_id)


@dataclass
class Counts:
    acknowledged: int
    stored: int
    delivered: int
    missed: int
    doubled: int
    votes: int = 0  # acknowledged, each stored once
    questions: int = 0

    def __str__(self) -> str:
        return (
            f"messages acknowledged {self.acknowledged}, stored {self.stored}, delivered "
            f"{self.delivered}, missed {self.missed}, doubled {self.doubled}; votes "
            f"{self.votes} and questions {self.questions} acknowledged, each stored once"
        )


class FaultWorld:
    """The database (its URL), two processes, the public side event's room."""

    def __init__(self, database_url: str, redis_url: str, workdir: Path) -> None:
        self.database_url, self.redis_url, self.workdir = database_url, redis_url, workdir
        self.processes: list[ServerProcess] = []
        self.room = self.other_room = 0
        self.people: list[Participant] = []

    async def prepare(self) -> None:
        await upgrade_async(self.database_url)
        engine = create_engine(self.database_url)
        async with transaction(session_factory(engine)) as db:
            await load_demo(db)
            found = list(
                await db.scalars(
                    select(Session.id)
                    .where(Session.visibility == "public", Session.kind == "side_event")
                    .order_by(Session.id)
                    .limit(2)
                )
            )
        await engine.dispose()
        self.room, self.other_room = found  # the demo has public side events enough

    def start(self, name: str) -> ServerProcess:
        server = ServerProcess(self.database_url, self.redis_url, str(self.workdir / name))
        self.processes.append(server)
        return server

    def living(self) -> list[str]:
        return [p.url for p in self.processes if p.process.poll() is None]

    async def token(self, name: str, organizer: bool = False) -> str:
        url = f"{self.living()[0]}/api/auth/guest"
        async with aiohttp.ClientSession() as http, http.post(url, json={"name": name}) as answer:
            token = str((await answer.json())["token"])
        if organizer:
            engine = create_engine(self.database_url)
            async with transaction(session_factory(engine)) as db:
                account = await db.scalar(select(Account).order_by(Account.id.desc()).limit(1))
                assert account is not None
                db.add(RoleGrant(account_id=account.id, role=Role.ORGANIZER))
            await engine.dispose()
        return token

    async def person(self, name: str, on: int, organizer: bool = False) -> Participant:
        """A participant connected to process ``on`` first (the others if it is gone)."""

        def servers() -> list[str]:
            living = self.living()
            first = self.processes[on].url
            return sorted(living, key=lambda url: url != first)

        person = Participant(await self.token(name, organizer), self.room, servers)
        self.people.append(person)
        return person

    async def counts(self, people: list[Participant], sent: Sent) -> Counts:
        """Per participant, what the database says it should have applied, against what
        it applied; the speakers' acknowledged messages against the stored ones."""
        engine = create_engine(self.database_url)
        async with session_factory(engine)() as db:
            stored = Counter(
                await db.scalars(
                    select(ChatMessage.client_id).where(ChatMessage.session_id == self.room)
                )
            )
            feed = [
                (row.seq, int(row.data["id"]))
                for row in await db.scalars(
                    select(RoomEvent)
                    .where(RoomEvent.session_id == self.room, RoomEvent.name == "chat.posted")
                    .order_by(RoomEvent.seq)
                )
            ]
        await engine.dispose()
        assert all(stored[client_id] == 1 for client_id in sent.acknowledged), "stored twice"
        delivered = missed = doubled = 0
        for person in people:
            assert person.entry_seq is not None
            wanted = [message for seq, message in feed if seq > person.entry_seq]
            got = Counter(person.applied)
            delivered += len(person.applied)
            missed += sum(1 for message in wanted if message not in got)
            doubled += sum(n - 1 for n in got.values()) + person.late_doubles
            doubled += sum(1 for message in got if message in person.seen_in_state)
        return Counts(
            acknowledged=len(sent.acknowledged),
            stored=sum(stored[c] for c in sent.acknowledged),
            delivered=delivered,
            missed=missed,
            doubled=doubled,
        )

    async def presence_is(self, people: int, within: float) -> float:
        """Until a newcomer counts ``people`` besides itself; how long that took."""
        started = time.monotonic()
        checker = await self.person("Checker", 0, organizer=True)  # closed rooms too
        await checker.join()
        async with asyncio.timeout(within):
            await checker.counted(people + 1)
        return time.monotonic() - started

    async def check_asked(self, asked: Asked) -> None:
        """Every acknowledged vote and question stored, once: nothing more, nothing less."""
        engine = create_engine(self.database_url)
        async with session_factory(engine)() as db:
            choices = Counter(
                await db.scalars(
                    select(PollChoice.option).where(PollChoice.poll_id == asked.poll_id)
                )
            )
            questions = Counter(
                await db.scalars(select(Question.client_id).where(Question.session_id == self.room))
            )
        await engine.dispose()
        assert choices == asked.votes, (choices, asked.votes)
        assert {c for c in questions if c} == asked.questions
        assert all(questions[c] == 1 for c in asked.questions)

    async def caught_up(self, people: list[Participant]) -> None:
        """Until everyone applied the room's last chat message (the feed's last number)."""
        engine = create_engine(self.database_url)
        async with session_factory(engine)() as db:
            last = await db.scalar(
                select(RoomEvent.seq)
                .where(RoomEvent.session_id == self.room)
                .order_by(RoomEvent.seq.desc())
                .limit(1)
            )
        await engine.dispose()
        async with asyncio.timeout(WAIT * 3):
            for person in people:
                await person.settled()
                await person.reached(last or 0)

    async def close(self) -> None:
        for person in self.people:
            await person.close()
        for process in self.processes:
            process.stop()


@contextlib.asynccontextmanager
async def fault_world(
    database_url: str, redis_url: str, workdir: Path
) -> AsyncIterator[FaultWorld]:
    world = FaultWorld(database_url, redis_url, workdir)
    try:
        await world.prepare()
        yield world
    finally:
        await world.close()
