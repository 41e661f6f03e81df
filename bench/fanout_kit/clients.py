"""The load generator's child role: many Socket.IO connections in one process.

It opens and enters connections, sends chat messages at a fixed rate from a few of them,
votes from all of them, and counts every ``chat.posted`` that arrives with its latency
(the text is the send time). Several of these run side by side; the parent adds their
counts up. Connections are kept per room: a phase may use several rooms at once.

Joiners that record (the start of a wave) also keep, each, what their ``room.enter``
answered and the number of every ``chat.posted`` they received, so that ``check`` can
hold them against the room's feed: what each missed, what it got twice, and what the
room never had.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from bench_common.children import Handler, JsonDict

from sidestage.platform.loop_watch import LoopWatch

from .wire import Connection

LATENCY_SAMPLE = 20_000  # latencies returned per collect, chosen at random
# A generator's own event loop late past this inflates the latencies it measures: noted.
GENERATOR_HELD_UP = 0.05
OPENING_AT_ONCE = 200  # connections being opened concurrently
# A connection or an entry not answered by then is taken as lost: on this machine, busy with
# other work, a wave's last ones in have waited over 30 s for either.
ENTER_WITHIN = 120.0
# A room that answers an entry "server.busy" (its state changed while being read, each of
# the 20 times the server tried) is asked again this much later, at most this many times.
BUSY_AGAIN_S = 1.0
ENTER_ATTEMPTS = 5
POLL_OPTIONS = ["yes", "no"]
EXAMPLES = 5  # joiners with something missed or doubled described in full, per generator


@dataclass
class Joiner:
    """One connection of a wave: what its entry answered, and every ``chat.posted`` it
    received as (seq, message id), before the answer too (the protocol allows that)."""

    room: int
    url: str
    counted: Callable[[str, Any, float], None]  # the role's counters and latencies
    entry_seq: int = -1
    entry_chat: set[int] = field(default_factory=set)
    receipts: list[tuple[int, int]] = field(default_factory=list)

    def on_event(self, name: str, payload: Any, arrival: float) -> None:
        if name == "chat.posted":
            self.receipts.append((int(payload["seq"]), int(payload["id"])))
        self.counted(name, payload, arrival)

    def entered(self, answer: JsonDict) -> None:
        """``answer``: the data of the ``room.enter`` answer."""
        self.entry_seq = int(answer["seq"])
        self.entry_chat = {int(message["id"]) for message in answer["chat"]}

    def check(self, feed: list[tuple[int, int]]) -> Counter[str]:
        """Against the room's ``chat.posted`` events as (seq, message id): expected
        (numbered after the entry), missed (expected, never received), doubled (received
        again, or although the entry's state held it), not the room's (a number and
        message the room never had together) and out of order (below one received
        earlier)."""
        room = set(feed)
        expected = {event for event in room if event[0] > self.entry_seq}
        found: Counter[str] = Counter(expected=len(expected), received=len(self.receipts))
        seen: set[tuple[int, int]] = set()
        highest = -1
        for event in self.receipts:
            seq, message = event
            held = seq <= self.entry_seq or message in self.entry_chat
            found["doubled"] += event in seen or held
            found["not_the_rooms"] += event not in room
            found["out_of_order"] += seq < highest
            seen.add(event)
            highest = max(highest, seq)
        found["missed"] = len(expected - seen)
        return found

    def described(self, feed: list[tuple[int, int]], found: Counter[str]) -> JsonDict:
        room = set(feed)
        expected = {event for event in room if event[0] > self.entry_seq}
        missing = sorted(seq for seq, _ in expected - set(self.receipts))
        strangers = [event for event in self.receipts if event not in room]
        return {"room": self.room, "url": self.url, "entry_seq": self.entry_seq} | dict(
            found,
            missing=missing[:10],
            seqs_received=[seq for seq, _ in self.receipts][:40],
            strangers=strangers[:5],
        )


class ClientsRole:
    def __init__(self) -> None:
        self.rooms: dict[int, list[Connection]] = defaultdict(list)
        self.received = 0
        self.latencies: list[float] = []
        self.results: dict[int, tuple[float, JsonDict]] = {}  # poll -> latest, its arrival
        self._next_sender: dict[int, int] = defaultdict(int)  # rate limits are per person
        self._moderator: Connection | None = None
        self._http: aiohttp.ClientSession | None = None
        self._watch = LoopWatch(GENERATOR_HELD_UP)
        # Reported to the parent with the counts, not printed by the child as warnings.
        logging.getLogger("sidestage.loop").setLevel(logging.ERROR)
        self._watching: asyncio.Task[None] | None = None
        self.joiners: list[Joiner] = []
        self._sending: asyncio.Task[JsonDict] | None = None  # chat until told to stop
        self._stop_sending = asyncio.Event()

    def handlers(self) -> dict[str, Handler]:
        return {
            "join": self.join,
            "send": self.send,
            "sent": self.sent,
            "check": self.check,
            "collect": self.collect,
            "moderate": self.moderate,
            "caption": self.caption,
            "vote": self.vote,
            "results": self.results_seen,
        }

    def _on_event(self, name: str, payload: Any, arrival: float) -> None:
        if name in ("chat.posted", "caption.added"):  # a timestamped line either way
            self.received += 1
            sent = _sent_at(payload)
            if sent is not None:  # else not one of the bench's: counted, and no latency
                self.latencies.append(arrival - sent)

    def _on_moderator_event(self, name: str, payload: Any, arrival: float) -> None:
        if name == "poll.results_changed":
            poll, earlier = int(payload["poll_id"]), self.results.get(int(payload["poll_id"]))
            if earlier is not None and payload.get("version", 0) < earlier[1].get("version", 0):
                return  # an older tally arriving late, as Sidestage's page ignores it
            if earlier is None or earlier[1]["counts"] != payload["counts"]:
                self.results[poll] = (arrival, payload)  # when these counts first arrived

    @property
    def http(self) -> aiohttp.ClientSession:
        if self._http is None:
            connector = aiohttp.TCPConnector(limit=0, force_close=True)
            self._http = aiohttp.ClientSession(connector=connector)
        return self._http

    async def join(self, request: JsonDict) -> JsonDict:
        """Open one connection per token (the i-th to ``urls[i % len(urls)]``) and enter
        the i-th of ``rooms``, ``OPENING_AT_ONCE`` at a time; with ``record``, as joiners
        that keep what they entered at and received (see ``check``)."""
        gate, urls, record = asyncio.Semaphore(OPENING_AT_ONCE), request["urls"], request["record"]
        started = time.time()

        async def one(index: int, token: str, room: int) -> tuple[float, float, int]:
            async with gate:
                url, connecting = urls[index % len(urls)], time.time()
                joiner = Joiner(room, url, self._on_event) if record else None
                connection = Connection(joiner.on_event if joiner else self._on_event)
                answer, busy = await _entered(connection, self.http, url, token, room)
                if joiner is not None:
                    joiner.entered(answer)
                    self.joiners.append(joiner)
                self.rooms[room].append(connection)
                answered = time.time()
                return answered, answered - connecting, busy

        entering = zip(request["tokens"], request["rooms"], strict=True)
        done = await asyncio.gather(*(one(i, t, r) for i, (t, r) in enumerate(entering)))
        return {
            "started": started,
            "last": max(answered for answered, _, _ in done),
            "count": len(done),
            "entries_s": [took for _, took, _ in done],  # each one's connect to its answer
            "busy": sum(busy for _, _, busy in done),
        }

    async def check(self, request: JsonDict) -> JsonDict:
        """Every recording joiner's receipts against its room's ``feed`` (room -> its
        ``chat.posted`` events as (seq, message id), as the database holds them): the counts
        added up, those of each room and server where something was missed or doubled,
        and a few such joiners in full."""
        feed = {  # JSON made the pairs lists: as tuples again, to be found in sets
            int(room): [(seq, message) for seq, message in events]
            for room, events in request["feed"].items()
        }
        total: Counter[str] = Counter()
        places: dict[str, Counter[str]] = defaultdict(Counter)
        examples = []
        for joiner in self.joiners:
            found = joiner.check(feed[joiner.room])
            total.update(found)
            if any(found[key] for key in ("missed", "doubled", "not_the_rooms", "out_of_order")):
                places[f"room {joiner.room} on {joiner.url}"].update(found, joiners=1)
                if len(examples) < EXAMPLES:
                    examples.append(joiner.described(feed[joiner.room], found))
        return {"counts": total, "places": places, "examples": examples}

    async def send(self, request: JsonDict) -> JsonDict:
        """In each of ``rooms`` at once: ``rate`` messages a second for ``seconds``, spread
        over ``senders`` of its connections, the next ones along: each sends again only once
        all have sent. Each room's schedule starts ``phases[room]`` of an interval late:
        rooms chat independently, not in step. With ``background``, answers at once and
        chats on until ``sent`` stops it: a request, which this process would not read
        while it was still answering ``send``."""
        self._stop_sending.clear()
        if not request.get("background"):
            return await self._send_all(request)
        self._sending = asyncio.create_task(self._send_all(request))
        return {}

    async def sent(self, request: JsonDict) -> JsonDict:
        """Stops the chat that ``send`` started in the background; what it would have
        answered."""
        assert self._sending is not None
        self._stop_sending.set()
        return await self._sending

    async def _send_all(self, request: JsonDict) -> JsonDict:
        rooms, phases = request["rooms"], request["phases"]
        answers = await asyncio.gather(
            *(self._send_into(room, phases[str(room)], request) for room in rooms)
        )
        refused = [a for room, _ in answers for a in room if not a.get("ok")]
        sent = sum(len(room) for room, _ in answers) - len(refused)
        acks = [took for _, times in answers for took in times]
        return {"refused": refused[:3], "refused_count": len(refused), "sent": sent, "acks_s": acks}

    async def _send_into(
        self, room: int, phase: float, request: JsonDict
    ) -> tuple[list[Any], list[float]]:
        """The answers to what was sent in ``room``, and how long each took to come."""
        wanted, first, members = request["senders"], self._next_sender[room], self.rooms[room]
        if len(members) < wanted:
            raise RuntimeError(f"only {len(members)} connections in {room} to send from")
        if first + wanted > len(members):
            first = 0  # all have sent once: again from the first, a phase or more ago
        senders = members[first : first + wanted]
        self._next_sender[room] = first + wanted
        interval, count = 1.0 / request["rate"], int(request["rate"] * request["seconds"])
        start = time.monotonic() + phase * interval
        pending = []
        for index in range(count):
            delay = start + index * interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)  # the schedule of a fixed-rate sender
            if self._stop_sending.is_set():
                break
            sender = senders[index % len(senders)]
            message = {"session_id": room, "text": repr(time.time())}
            pending.append(asyncio.ensure_future(_timed(sender.call("chat.send", message))))
        timed = await asyncio.gather(*pending)
        return [answer for answer, _ in timed], [took for _, took in timed]

    async def caption(self, request: JsonDict) -> JsonDict:
        """As a captioner (``token``, one who may caption in ``room``): ``rate`` lines a
        second for ``seconds`` in the room's first caption language, each line the time it
        was sent. Answers the language and the acks' answers."""
        captioner = Connection(lambda *_: None)
        await captioner.open(self.http, request["url"], request["token"])
        try:
            room = request["room"]
            entered = await _ok(captioner, "room.enter", {"session_id": room})
            language = entered["languages"]["captions"][0]
            interval, count = 1.0 / request["rate"], int(request["rate"] * request["seconds"])
            start, pending = time.monotonic(), []
            for index in range(count):
                delay = start + index * interval - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                line = {"session_id": room, "language": language, "text": repr(time.time())}
                pending.append(asyncio.ensure_future(captioner.call("caption.send", line)))
            answers = await asyncio.gather(*pending)
        finally:
            await captioner.close()
        refused = [a for a in answers if not a.get("ok")]
        return {"language": language, "sent": count - len(refused), "refused": refused[:3]}

    async def moderate(self, request: JsonDict) -> JsonDict:
        """Enter ``rooms`` as the moderator who watches the results; with ``create``, also
        make and open a poll in each (Sidestage). Answers each room's poll id."""
        self._moderator = Connection(self._on_moderator_event)
        await self._moderator.open(self.http, request["url"], request["token"])
        polls = {}
        for room in request["rooms"]:
            await _ok(self._moderator, "room.enter", {"session_id": room})
            if not request["create"]:
                polls[str(room)] = room  # the references: a poll id names its room
                continue
            poll = {"session_id": room, "question": "Which?", "options": POLL_OPTIONS}
            made = await _ok(self._moderator, "poll.create", poll)
            await _ok(self._moderator, "poll.open", {"poll_id": made["poll_id"]})
            polls[str(room)] = made["poll_id"]
        return {"polls": polls}

    async def vote(self, request: JsonDict) -> JsonDict:
        """Every connection votes once in its room's poll (``polls``: room -> poll), all at
        once; the i-th of a room for option ``i % 2``. Answers the votes acknowledged per
        poll and option, and when the last acknowledgement came."""
        ballots = [
            (connection, {"poll_id": poll, "choices": [i % len(POLL_OPTIONS)]})
            for room, poll in request["polls"].items()
            for i, connection in enumerate(self.rooms[int(room)])
        ]
        answers = await asyncio.gather(*(c.call("poll.vote", b, within=120) for c, b in ballots))
        counted: dict[str, list[int]] = {}
        refused = []
        for answer, (_, ballot) in zip(answers, ballots, strict=True):
            tally = counted.setdefault(str(ballot["poll_id"]), [0] * len(POLL_OPTIONS))
            if answer.get("ok"):
                tally[ballot["choices"][0]] += 1
            else:
                refused.append(answer)
        return {"counted": counted, "refused": refused[:3], "last": time.time()}

    async def results_seen(self, request: JsonDict) -> JsonDict:
        return {str(poll): list(seen) for poll, seen in self.results.items()}

    async def collect(self, request: JsonDict) -> JsonDict:
        """What arrived since the last reset, and how often this process's own loop was
        held up meanwhile (its latencies include that)."""
        if self._watching is None:
            self._watching = asyncio.create_task(self._watch.run())
        sample = self.latencies
        if len(sample) > LATENCY_SAMPLE:
            sample = random.sample(sample, LATENCY_SAMPLE)
        result = {
            "received": self.received,
            "latencies": sample,
            "total": len(self.latencies),
            "held_up_ms": list(self._watch.held_up_ms),
        }
        if request.get("reset"):
            self.received, self.latencies = 0, []
            self._watch.held_up_ms.clear()
        return result

    async def close(self, request: JsonDict) -> None:
        if self._watching is not None:
            self._watching.cancel()
        self._stop_sending.set()  # a chat in the background, when a phase failed meanwhile
        everyone = [c for room in self.rooms.values() for c in room]
        if self._moderator is not None:
            everyone.append(self._moderator)
        await asyncio.gather(*(c.close() for c in everyone), return_exceptions=True)
        if self._sending is not None:
            await asyncio.gather(self._sending, return_exceptions=True)
        if self._http is not None:
            await self._http.close()


def _sent_at(payload: Any) -> float | None:
    """When a bench's message was sent (its text); None for another's: an exception here
    would end the connection's reader, and all it would have received after."""
    try:
        return float(payload["text"])
    except (KeyError, TypeError, ValueError):
        return None


async def _entered(
    connection: Connection, http: aiohttp.ClientSession, url: str, token: str, room: int
) -> tuple[JsonDict, int]:
    """Connects and enters ``room``: the entry's answer, and how many times the server
    answered ``server.busy`` first (its message says to try again: this does, after
    ``BUSY_AGAIN_S``)."""
    try:
        await connection.open(http, url, token, within=ENTER_WITHIN)
        for busy in range(ENTER_ATTEMPTS):
            answer = await connection.call("room.enter", {"session_id": room}, within=ENTER_WITHIN)
            if answer.get("ok"):
                return answer["data"], busy
            if answer["error"]["code"] != "server.busy":
                break
            await asyncio.sleep(BUSY_AGAIN_S)  # a person trying again a moment later
    except TimeoutError:
        lost = f"connecting to {url} and entering {room}: no answer in {ENTER_WITHIN:.0f} s"
        raise RuntimeError(lost) from None
    raise RuntimeError(f"room.enter in {room} on {url} refused: {answer}")


async def _timed(call: Awaitable[Any]) -> tuple[Any, float]:
    """The answer, and the seconds it took from now; no answer is a refusal of the bench's
    own, counted with the server's (and nothing is left for a failing phase to clear up)."""
    started = time.time()
    try:
        answer = await call
    except (TimeoutError, ConnectionError) as error:
        answer = {"ok": False, "error": {"code": "bench.no_ack", "message": repr(error)}}
    return answer, time.time() - started


async def _ok(connection: Connection, command: str, payload: JsonDict) -> Any:
    """The answer's data; a moderator's burst of commands waits when told to slow down."""
    while True:
        answer = await connection.call(command, payload)
        if answer.get("ok"):
            return answer.get("data", {})
        error = answer.get("error", {})
        if error.get("code") != "server.rate_limited":
            raise RuntimeError(f"{command} refused: {answer}")
        await asyncio.sleep(error["details"]["retry_after"])  # as the server asks
