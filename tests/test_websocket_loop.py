"""A connection that opens on websocket is served by ``websocket_loop`` (no task per message);
one that upgrades from long-polling keeps engine.io's loop. Both carry the room as before,
and whatever a client sends, only its own connection can end."""

from __future__ import annotations

import asyncio
import json
from asyncio.selector_events import _SelectorSocketTransport
from typing import Any

import aiohttp
import engineio
import pytest
import socketio
from engineio.async_socket import AsyncSocket

from sidestage.realtime.accel import websocket_loop
from sidestage.realtime.server import REALTIME
from tests.helpers import guest_token
from tests.live import WAIT, Client, until
from tests.rooms_world import World

pytestmark = pytest.mark.fast_path("realtime.websocket_loop")

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


async def test_the_handshake_answer_goes_out_with_the_open_packet_in_one_write(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes: list[bytes] = []
    write = _SelectorSocketTransport.write

    def noted(transport: _SelectorSocketTransport, data: Any) -> None:
        writes.append(bytes(data))
        write(transport, data)

    monkeypatch.setattr(_SelectorSocketTransport, "write", noted)
    async with aiohttp.ClientSession() as session:
        ws = await raw_connection(world, session, await guest_token(world.http, "Early"))
        await ws.close()
    answers = [w for w in writes if w.startswith(b"HTTP/1.1 101")]
    assert len(answers) == 1
    assert b'0{"sid":' in answers[0]  # the OPEN packet's frame, after the headers


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

    taken = await websocket_loop._next_packets(ours.queue)
    assert taken == await stock.poll()
    assert drained(ours.queue) == drained(stock.queue)


def drained(queue: asyncio.Queue[Any]) -> tuple[list[Any], int]:
    """What is left in the queue, and how many of its items were never marked done."""
    unfinished = queue._unfinished_tasks  # type: ignore[attr-defined]
    return [queue.get_nowait() for _ in range(queue.qsize())], unfinished


class Pipe:
    """The driver's ``wait()``: the messages the test puts in, when it puts them."""

    def __init__(self) -> None:
        self.messages: asyncio.Queue[str] = asyncio.Queue()

    async def wait(self) -> str:
        return await self.messages.get()


QUIET = 1.0  # seconds: the quiet limit in these tests


async def test_the_quiet_limit_counts_from_the_last_message() -> None:
    loop, pipe = asyncio.get_running_loop(), Pipe()

    async def receiving() -> tuple[float, float]:
        watch = websocket_loop.QuietWatch(QUIET)
        assert await watch.next_message(pipe) == "3"  # a pong, half a limit in
        heard = loop.time()
        with pytest.raises(TimeoutError):
            await watch.next_message(pipe)
        watch.stop()
        return heard, loop.time()

    loop.call_later(QUIET / 2, pipe.messages.put_nowait, "3")
    async with asyncio.timeout(WAIT):
        heard, ended = await asyncio.create_task(receiving())
    assert ended - heard >= QUIET * 0.99  # not from when the watch began


async def test_after_the_quiet_limit_the_task_goes_on_uncancelled() -> None:
    async def receiving() -> int:
        watch = websocket_loop.QuietWatch(QUIET / 10)
        with pytest.raises(TimeoutError):
            await watch.next_message(Pipe())
        await asyncio.sleep(0)  # an await after expiry runs: the task is not cancelled
        task = asyncio.current_task()
        assert task is not None
        return task.cancelling()

    async with asyncio.timeout(WAIT):
        assert await asyncio.create_task(receiving()) == 0


async def test_a_cancel_from_elsewhere_is_not_taken_for_silence() -> None:
    started = asyncio.Event()

    async def receiving() -> None:
        watch = websocket_loop.QuietWatch(WAIT)
        started.set()
        await watch.next_message(Pipe())

    task = asyncio.create_task(receiving())
    await started.wait()  # the task went on to wait for its message before this returns
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
