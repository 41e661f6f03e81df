"""The load generator's child role: many Socket.IO connections in one process.

It opens and enters connections, sends chat messages at a fixed rate from a few of them,
votes from all of them, and counts every ``chat.posted`` that arrives with its latency
(the text is the send time). Several of these run side by side; the parent adds their
counts up. Connections are kept per room: a phase may use several rooms at once.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import defaultdict
from typing import Any

import aiohttp
from bench_common.children import Handler, JsonDict

from sidestage.platform.loop_watch import LoopWatch

from .wire import Connection

LATENCY_SAMPLE = 20_000  # latencies returned per collect, chosen at random
# A generator's own event loop late past this inflates the latencies it measures: noted.
GENERATOR_HELD_UP = 0.05
OPENING_AT_ONCE = 200  # connections being opened concurrently
POLL_OPTIONS = ["yes", "no"]


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

    def handlers(self) -> dict[str, Handler]:
        return {
            "join": self.join,
            "send": self.send,
            "collect": self.collect,
            "moderate": self.moderate,
            "vote": self.vote,
            "results": self.results_seen,
        }

    def _on_event(self, name: str, payload: Any, arrival: float) -> None:
        if name == "chat.posted":
            self.received += 1
            self.latencies.append(arrival - float(payload["text"]))

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
        ``room``, ``OPENING_AT_ONCE`` at a time."""
        gate, urls, room = asyncio.Semaphore(OPENING_AT_ONCE), request["urls"], request["room"]
        started = time.time()

        async def one(index: int, token: str) -> float:
            async with gate:
                connection = Connection(self._on_event)
                await connection.open(self.http, urls[index % len(urls)], token)
                answer = await connection.call("room.enter", {"session_id": room})
                if not answer.get("ok"):
                    raise RuntimeError(f"room.enter refused: {answer}")
                self.rooms[room].append(connection)
                return time.time()

        done = await asyncio.gather(*(one(i, t) for i, t in enumerate(request["tokens"])))
        return {"started": started, "last": max(done), "count": len(done)}

    async def send(self, request: JsonDict) -> JsonDict:
        """In each of ``rooms`` at once: ``rate`` messages a second for ``seconds``, spread
        over ``senders`` of its connections, the next ones along: each sends again only once
        all have sent. Each room's schedule starts ``phases[room]`` of an interval late:
        rooms chat independently, not in step."""
        rooms, phases = request["rooms"], request["phases"]
        answers = await asyncio.gather(
            *(self._send_into(room, phases[str(room)], request) for room in rooms)
        )
        refused = [a for room in answers for a in room if not a.get("ok")]
        return {"refused": refused[:3]}

    async def _send_into(self, room: int, phase: float, request: JsonDict) -> list[Any]:
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
            sender = senders[index % len(senders)]
            message = {"session_id": room, "text": repr(time.time())}
            pending.append(asyncio.ensure_future(sender.call("chat.send", message)))
        return list(await asyncio.gather(*pending))

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
        everyone = [c for room in self.rooms.values() for c in room]
        if self._moderator is not None:
            everyone.append(self._moderator)
        await asyncio.gather(*(c.close() for c in everyone), return_exceptions=True)
        if self._http is not None:
            await self._http.close()


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
