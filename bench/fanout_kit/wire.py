"""A Socket.IO client as the wire has it: Engine.IO 4 packets in websocket text frames.

    server: 0{"sid":...,"pingInterval":...}   open
    client: 40{"token":...}                    connect to "/" with auth
    server: 40{"sid":...}                      connected (44{...}: refused)
    client: 42<id>["event",payload]            an event asking for an ack
    server: 43<id>[answer]                     the ack
    server: 42["event",payload]                a broadcast
    server: 2 / client: 3                      ping / pong

Enough for a load generator that counts what arrives and costs little per message.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

import aiohttp

OPEN_WITHIN = 30.0


class Connection:
    """One participant. ``on_event(name, payload, arrival)`` sees every broadcast."""

    def __init__(self, on_event: Callable[[str, Any, float], None]) -> None:
        self._on_event = on_event
        self._acks: dict[int, asyncio.Future[Any]] = {}
        self._next_ack = 0
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._connected: asyncio.Future[str] | None = None

    async def open(
        self, http: aiohttp.ClientSession, url: str, token: str, within: float = OPEN_WITHIN
    ) -> None:
        self._ws = await http.ws_connect(
            f"{url}/socket.io/?EIO=4&transport=websocket", compress=0, max_msg_size=0
        )
        opened = await asyncio.wait_for(self._ws.receive_str(), within)
        if not opened.startswith("0"):
            raise ConnectionError(f"not an Engine.IO open packet: {opened[:80]}")
        self._connected = asyncio.get_running_loop().create_future()
        self._reader = asyncio.create_task(self._read())
        await self._ws.send_str("40" + json.dumps({"token": token}))
        await asyncio.wait_for(self._connected, within)

    async def call(self, event: str, payload: Any, within: float = OPEN_WITHIN) -> Any:
        assert self._ws is not None
        ack_id, self._next_ack = self._next_ack, self._next_ack + 1
        answer = self._acks[ack_id] = asyncio.get_running_loop().create_future()
        await self._ws.send_str(f"42{ack_id}" + json.dumps([event, payload]))
        try:
            return await asyncio.wait_for(answer, within)
        finally:
            self._acks.pop(ack_id, None)

    async def close(self) -> None:
        """Closes the websocket; calls still waiting for their ack fail at once instead of
        after ``within``."""
        if self._reader is not None:
            self._reader.cancel()
        for waiting in self._acks.values():
            if not waiting.done():
                waiting.set_exception(ConnectionError("closed before the ack"))
        if self._ws is not None:
            await self._ws.close()

    async def _pong(self) -> None:
        assert self._ws is not None
        with contextlib.suppress(ConnectionError):  # a ping read just before closing
            await self._ws.send_str("3")

    async def _read(self) -> None:
        assert self._ws is not None
        async for message in self._ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            self._packet(message.data)

    def _packet(self, text: str) -> None:
        arrival = time.time()
        if text.startswith("42["):
            name, payload = json.loads(text[2:])[:2]
            self._on_event(name, payload, arrival)
        elif text.startswith("43"):
            start = text.index("[")
            waiting = self._acks.get(int(text[2:start]))
            if waiting is not None and not waiting.done():
                waiting.set_result(json.loads(text[start:])[0])
        elif text == "2":
            asyncio.ensure_future(self._pong())
        elif text.startswith("40") and self._connected and not self._connected.done():
            self._connected.set_result(text)
        elif text.startswith("44") and self._connected and not self._connected.done():
            self._connected.set_exception(ConnectionError(f"refused: {text[2:200]}"))
