"""The watch over silent clients (realtime/accel/liveness.py): one that stops answering pings is
closed, one that answers stays, and the watch ends with the server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import socketio
from aiohttp import web
from aiohttp.test_utils import TestServer

from sidestage.realtime.accel.fanout import FastServer, install_websocket_driver
from sidestage.realtime.accel.liveness import CHECK_EVERY, WatchedConnections

pytestmark = pytest.mark.fast_path("realtime.liveness")

PING = 1  # seconds: engine.io's ping interval and ping timeout here, so the test is short
# A silent client is closed a ping interval and a ping timeout after its last answer, at
# the next pass of the watch: well within this.
GONE_WITHIN = PING + PING + CHECK_EVERY + 3


class Stand:
    def __init__(self) -> None:
        self.sio = FastServer(async_mode="aiohttp", ping_interval=PING, ping_timeout=PING)
        install_websocket_driver(self.sio)
        self.connected: set[str] = set()
        self.gone: dict[str, asyncio.Event] = {}
        self.sio.on("connect", self._connect)
        self.sio.on("disconnect", self._disconnect)

    async def _connect(self, sid: str, environ: Any, auth: Any = None) -> None:
        self.connected.add(sid)
        self.gone[sid] = asyncio.Event()

    async def _disconnect(self, sid: str, reason: Any = None) -> None:
        self.connected.discard(sid)
        self.gone[sid].set()


@pytest.fixture
async def stand() -> AsyncIterator[tuple[Stand, str]]:
    built = Stand()
    app = web.Application()
    built.sio.attach(app)
    server = TestServer(app)
    await server.start_server()
    try:
        yield built, str(server.make_url("/socket.io/"))
    finally:
        if built.sio.eio.service_task_handle is not None:  # not shut down by the test
            await built.sio.shutdown()
        await server.close()


async def silent_polling_client(http: aiohttp.ClientSession, url: str) -> None:
    """Opens a long-polling connection and enters the namespace, then never polls again:
    the server's pings go unanswered."""
    async with http.get(f"{url}?EIO=4&transport=polling") as opened:
        sid = json.loads((await opened.text())[1:])["sid"]
    async with http.post(f"{url}?EIO=4&transport=polling&sid={sid}", data="40") as posted:
        assert posted.status == 200


async def test_the_server_uses_the_watched_engine() -> None:
    assert isinstance(FastServer(async_mode="aiohttp").eio, WatchedConnections)


async def test_a_client_that_stops_answering_pings_is_closed(
    stand: tuple[Stand, str],
) -> None:
    server, url = stand
    answering = socketio.AsyncClient(reconnection=False)
    await answering.connect(url.removesuffix("/socket.io/"), transports=["websocket"])
    async with aiohttp.ClientSession() as http:
        await silent_polling_client(http, url)
        (silent,) = server.connected - {answering.get_sid()}
        await asyncio.wait_for(server.gone[silent].wait(), GONE_WITHIN)
    assert answering.connected and server.connected == {answering.get_sid()}
    await answering.disconnect()


async def test_the_watch_ends_with_the_server(stand: tuple[Stand, str]) -> None:
    server, url = stand
    answering = socketio.AsyncClient(reconnection=False)
    await answering.connect(url.removesuffix("/socket.io/"), transports=["websocket"])
    watch = server.sio.eio.service_task_handle
    assert watch is not None and not watch.done()
    await asyncio.wait_for(server.sio.shutdown(), CHECK_EVERY + 5)
    assert watch.done() and not watch.cancelled()
    await answering.disconnect()
