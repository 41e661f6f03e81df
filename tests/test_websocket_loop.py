"""A connection that opens on websocket is served by ``websocket_loop`` (no task per message);
one that upgrades from long-polling keeps engine.io's loop. Both carry the room as before,
and whatever a client sends, only its own connection can end."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import aiohttp
import engineio
import pytest
import socketio
from engineio.async_socket import AsyncSocket

from sidestage.realtime import websocket_loop
from sidestage.realtime.server import REALTIME
from tests.helpers import guest_token
from tests.live import WAIT, Client
from tests.rooms_world import World

MAX_MESSAGE = 256 * 1024  # the server's max_http_buffer_size


@pytest.fixture
def backend() -> str:
    return "sqlite"


def engine_io_waits() -> int:
    """Tasks that engine.io's own loop starts for each message a connection waits for."""
    return sum(
        1
        for task in asyncio.all_tasks()
        if getattr(task.get_coro(), "__qualname__", "").endswith("websocket_wait")
    )


async def until(condition: Callable[[], bool]) -> None:
    """Neither the client's upgrade nor the server's disconnect is announced: look again."""
    async with asyncio.timeout(WAIT):
        while True:
            if condition():
                return
            await asyncio.sleep(0.01)


async def upgrading_client(world: World, token: str) -> Client:
    """A client that starts on long-polling and upgrades, as browsers without a
    websocket-first setting do."""
    client = Client(world.url, token)
    client.sio = socketio.AsyncClient(reconnection=False)
    client.sio.on("*", client._record)
    await client.sio.connect(
        world.url, auth={"token": token}, transports=["polling", "websocket"], wait_timeout=WAIT
    )
    world.clients.append(client)
    return client


async def test_websocket_first_connections_wait_in_their_own_task(world: World) -> None:
    room = {"session_id": world.public.id}
    direct = await world.guest("Direct")
    upgraded = await upgrading_client(world, await guest_token(world.http, "Upgraded"))
    await until(lambda: upgraded.sio.transport() == "websocket")  # the client's upgrade
    for client in (direct, upgraded):
        await client.ok("room.enter", room)

    sent = await direct.ok("chat.send", {**room, "text": "both ways"})
    answered = await upgraded.ok("chat.send", {**room, "text": "and back"})
    for client in (direct, upgraded):
        await client.wait_for("chat.posted", lambda m: m["id"] == sent["id"])
        await client.wait_for("chat.posted", lambda m: m["id"] == answered["id"])
    assert engine_io_waits() == 1  # the upgraded connection's; Direct waits in its handler


async def raw_connection(world: World, session: aiohttp.ClientSession, token: str) -> Any:
    """A websocket speaking Engine.IO and Socket.IO by hand, connected and signed in."""
    ws = await session.ws_connect(world.url + "socket.io/?EIO=4&transport=websocket")
    opened = await ws.receive_str(timeout=WAIT)
    assert opened.startswith("0{")
    await ws.send_str("40" + json.dumps({"token": token}))
    connected = await ws.receive_str(timeout=WAIT)
    assert connected.startswith("40{"), connected
    return ws


@pytest.mark.parametrize("message", ["not engine.io", "4" + "x" * MAX_MESSAGE])
async def test_a_bad_message_ends_only_the_connection_that_sent_it(
    world: World, message: str
) -> None:
    room = {"session_id": world.public.id}
    bystander = await world.guest("Bystander")
    token = await guest_token(world.http, "Sender")
    async with aiohttp.ClientSession() as session:
        ws = await raw_connection(world, session, token)
        await ws.send_str(message)
        closing = await ws.receive(timeout=WAIT)
        assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    connections = world.http.server.app[REALTIME].transport.connections
    await until(lambda: len(connections) == 1)  # the server's side of it: the disconnect
    assert [c.name for c in connections.values()] == ["Bystander"]
    entered = await bystander.ok("room.enter", room)
    assert entered["session_id"] == world.public.id


@pytest.mark.parametrize(
    "waiting", [["a"], ["a", "b"], [None], ["a", None], ["a", None, "b"], [None, "a"]]
)
async def test_the_writer_takes_packets_from_the_queue_as_engine_io_does(
    waiting: list[str | None],
) -> None:
    server = engineio.AsyncServer(async_mode="aiohttp")
    stock, ours = AsyncSocket(server, "stock"), AsyncSocket(server, "ours")
    for socket in (stock, ours):
        for item in waiting:
            socket.queue.put_nowait(item)

    taken = await websocket_loop._next_packets(ours.queue, quiet_limit=WAIT)
    assert taken == await stock.poll()
    assert drained(ours.queue) == drained(stock.queue)


def drained(queue: asyncio.Queue[Any]) -> tuple[list[Any], int]:
    """What is left in the queue, and how many of its items were never marked done."""
    unfinished = queue._unfinished_tasks  # type: ignore[attr-defined]
    return [queue.get_nowait() for _ in range(queue.qsize())], unfinished


async def test_a_writer_with_nothing_to_send_gives_up_after_the_quiet_limit() -> None:
    with pytest.raises(TimeoutError):
        await websocket_loop._next_packets(asyncio.Queue(), quiet_limit=0.05)
