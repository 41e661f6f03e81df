"""A long-polling client that posts more than the server accepts gets 413 at once, and its
session ends, instead of a POST that is never answered."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp.test_utils import TestClient

from sidestage.realtime.server import REALTIME

pytestmark = pytest.mark.fast_path("realtime.bounded_posts")

POLLING = "/socket.io/?EIO=4&transport=polling"


async def _handshake(client: TestClient) -> str:
    opened = await client.get(POLLING)
    assert opened.status == 200
    return str(json.loads((await opened.text())[1:])["sid"])


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_an_oversized_long_polling_post_is_answered_413(client: TestClient) -> None:
    limit = client.app[REALTIME].sio.eio.max_http_buffer_size
    sid = await _handshake(client)
    fits = await client.post(f"{POLLING}&sid={sid}", data=b"3")  # a pong: within the limit
    assert fits.status == 200 and await fits.text() == "OK"
    async with asyncio.timeout(10):
        refused = await client.post(f"{POLLING}&sid={sid}", data=b"4" + b"x" * limit)
    assert refused.status == 413
    async with asyncio.timeout(10):
        after = await client.get(f"{POLLING}&sid={sid}")
    assert after.status == 400  # the session is over: the client starts a new one
    assert sid not in client.app[REALTIME].sio.eio.sockets
