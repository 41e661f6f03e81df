"""The load generator's child role: many Socket.IO connections in one process.

It opens and enters connections, sends chat messages at a fixed rate from a few of them,
and counts every ``chat.posted`` that arrives with its latency (the text is the send time).
Several of these run side by side; the parent adds their counts up.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import aiohttp
from bench_common.children import Handler, JsonDict

from .wire import Connection

LATENCY_SAMPLE = 20_000  # latencies returned per collect, chosen at random
OPENING_AT_ONCE = 200  # connections being opened concurrently


class ClientsRole:
    def __init__(self) -> None:
        self.connections: list[Connection] = []
        self.received = 0
        self.latencies: list[float] = []
        self._next_sender = 0  # each send uses fresh connections: rate limits are per person
        self._http: aiohttp.ClientSession | None = None

    def handlers(self) -> dict[str, Handler]:
        return {"join": self.join, "send": self.send, "collect": self.collect}

    def _on_event(self, name: str, payload: Any, arrival: float) -> None:
        if name == "chat.posted":
            self.received += 1
            self.latencies.append(arrival - float(payload["text"]))

    async def join(self, request: JsonDict) -> JsonDict:
        """Open and enter one connection per token, ``OPENING_AT_ONCE`` at a time."""
        if self._http is None:
            connector = aiohttp.TCPConnector(limit=0, force_close=True)
            self._http = aiohttp.ClientSession(connector=connector)
        gate = asyncio.Semaphore(OPENING_AT_ONCE)
        started = time.time()

        async def one(token: str) -> float:
            async with gate:
                connection = Connection(self._on_event)
                assert self._http is not None
                await connection.open(self._http, request["url"], token)
                answer = await connection.call("room.enter", {"session_id": request["room"]})
                if not answer.get("ok"):
                    raise RuntimeError(f"room.enter refused: {answer}")
                self.connections.append(connection)
                return time.time()

        done = await asyncio.gather(*(one(t) for t in request["tokens"]))
        return {"started": started, "last": max(done), "count": len(done)}

    async def send(self, request: JsonDict) -> JsonDict:
        """``rate`` messages a second for ``seconds``, spread over ``senders`` connections."""
        first, self._next_sender = self._next_sender, self._next_sender + request["senders"]
        senders = self.connections[first : self._next_sender]
        if len(senders) < request["senders"]:
            raise RuntimeError(f"only {len(self.connections)} connections to send from")
        interval, count = 1.0 / request["rate"], int(request["rate"] * request["seconds"])
        start = time.monotonic()
        pending = []
        for index in range(count):
            delay = start + index * interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)  # the schedule of a fixed-rate sender
            sender = senders[index % len(senders)]
            message = {"session_id": request["room"], "text": repr(time.time())}
            pending.append(asyncio.ensure_future(sender.call("chat.send", message)))
        answers = await asyncio.gather(*pending)
        refused = [a for a in answers if not a.get("ok")]
        return {"sent": count, "refused": refused[:3], "refused_count": len(refused)}

    async def collect(self, request: JsonDict) -> JsonDict:
        sample = self.latencies
        if len(sample) > LATENCY_SAMPLE:
            sample = random.sample(sample, LATENCY_SAMPLE)
        result = {"received": self.received, "latencies": sample, "total": len(self.latencies)}
        if request.get("reset"):
            self.received, self.latencies = 0, []
        return result

    async def close(self, request: JsonDict) -> None:
        await asyncio.gather(*(c.close() for c in self.connections), return_exceptions=True)
        if self._http is not None:
            await self._http.close()
