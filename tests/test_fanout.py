"""The fast broadcast path: standard Socket.IO clients get room broadcasts, and the
answers to their own commands, through it.

python-socketio's ``AsyncClient`` over websocket (written directly) and over long-polling
(queued), and the official JavaScript client in Node, all in one room; one chat message
reaches each of them exactly once, and the counters say which path carried it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest
import socketio
from redis.asyncio import Redis
from socketio import packet as sio_packet

from sidestage.realtime.accel import fanout
from sidestage.realtime.accel.fanout import text_frame
from sidestage.realtime.channels import FanoutStats
from sidestage.realtime.server import REALTIME
from tests.conftest import REDIS_URL
from tests.helpers import guest_token
from tests.live import WAIT, Client, until
from tests.rooms_world import World

pytestmark = pytest.mark.fast_path("realtime.broadcasts")

STANDARD_CLIENT = Path(__file__).parent / "browser" / "standard_client.mjs"


@pytest.fixture
def backend() -> str:
    return "sqlite"


def stats(world: World) -> FanoutStats:
    return world.http.server.app[REALTIME].fanout.stats  # type: ignore[no-any-return]


def replies(world: World) -> FanoutStats:
    return world.http.server.app[REALTIME].sio.replies  # type: ignore[no-any-return]


async def polling_client(world: World, token: str) -> Client:
    client = Client(world.url, token)
    client.sio = socketio.AsyncClient(reconnection=False)
    client.sio.on("*", client._record)
    await client.sio.connect(
        world.url, auth={"token": token}, transports=["polling"], wait_timeout=WAIT
    )
    world.clients.append(client)
    return client


@pytest.mark.processes  # Node.js's official client
async def test_standard_clients_receive_broadcasts_through_the_fast_path(world: World) -> None:
    room = {"session_id": world.public.id}
    sender = await world.guest("Sender")
    over_websocket = await world.guest("Websocket")
    token = (await world.guest("Polling")).token
    over_polling = await polling_client(world, token)
    node_token = (await world.guest("Node")).token
    node = await asyncio.create_subprocess_exec(
        "node",
        str(STANDARD_CLIENT),
        world.url,
        node_token,
        str(world.public.id),
        "to everyone",
        stdout=asyncio.subprocess.PIPE,
    )
    answered = FanoutStats(**vars(replies(world)))
    try:
        for client in (sender, over_websocket, over_polling):
            await client.ok("room.enter", room)
        assert node.stdout is not None
        assert await asyncio.wait_for(node.stdout.readline(), WAIT) == b"entered\n"
        before = FanoutStats(**vars(stats(world)))

        sent = await sender.ok("chat.send", {**room, "text": "to everyone"})
        for client in (sender, over_websocket, over_polling):
            got = await client.wait_for("chat.posted", lambda m: m["id"] == sent["id"])
            assert got["text"] == "to everyone"
        from_node = json.loads(await asyncio.wait_for(node.stdout.readline(), WAIT))
        assert from_node["id"] == sent["id"] and from_node["author"]["name"] == "Sender"
        assert await asyncio.wait_for(node.wait(), WAIT) == 0
    finally:
        if node.returncode is None:
            node.kill()
            await node.wait()

    after = stats(world)
    # Three websocket clients (python sender and listener, Node) were written directly, the
    # polling one got it queued; nothing fell back to the stock path.
    assert after.direct - before.direct >= 3
    assert after.queued - before.queued >= 1
    assert after.stock == before.stock
    for client in (sender, over_websocket, over_polling):
        assert [m["id"] for m in client.received["chat.posted"]].count(sent["id"]) == 1
    # Answers too: the websocket clients' (Node's connect and room.enter included, which it
    # read) were written directly; the polling client's were queued.
    assert replies(world).direct - answered.direct >= 5
    assert replies(world).queued - answered.queued >= 1


async def test_a_broadcast_that_skips_a_member_reaches_everyone_else_once(
    world: World,
) -> None:
    """python-socketio's ``skip_sid``, one sid or several, honoured by the fast path."""
    clients = [await world.guest(name) for name in ("Ama", "Bo", "Chen", "Dina")]
    sio = world.http.server.app[REALTIME].sio
    sids = [client.sio.get_sid() for client in clients]
    for sid in sids:
        await sio.enter_room(sid, "skip-probe")
    before = FanoutStats(**vars(stats(world)))
    await sio.emit("probe.note", {"n": 1}, room="skip-probe", skip_sid=sids[0])
    await sio.emit("probe.note", {"n": 2}, room="skip-probe", skip_sid=sids[1:3])
    await sio.emit("probe.note", {"n": 3}, room="skip-probe")
    for client in clients:  # each connection keeps the order: what came, came before 3
        await client.wait_for("probe.note", lambda m: m["n"] == 3)
    got = [[m["n"] for m in client.received["probe.note"]] for client in clients]
    assert got == [[2, 3], [1, 3], [1, 3], [1, 2, 3]]
    assert stats(world).direct - before.direct == 9
    assert stats(world).stock == before.stock


class EngineIOByHand:
    """An engine.io client that stays on long-polling until told to upgrade: what a
    browser does when its websocket opens a moment after it entered the room."""

    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        self.http = http
        self.base = f"{url.rstrip('/')}/socket.io/?EIO=4"
        self.sid = ""
        self.ws: aiohttp.ClientWebSocketResponse | None = None

    async def open(self, token: str) -> None:
        (opened,) = await self._poll(f"{self.base}&transport=polling")
        self.sid = json.loads(opened[1:])["sid"]
        await self._post("40" + json.dumps({"token": token}))
        await self.polled_until(lambda packet: packet.startswith("40{"))

    async def call(self, command: str, payload: dict[str, object]) -> None:
        await self._post("421" + json.dumps([command, payload]))
        await self.polled_until(lambda packet: packet.startswith("431"))

    async def polled_until(self, wanted: Callable[[str], bool]) -> str:
        async with asyncio.timeout(WAIT):
            while True:
                for packet in await self._poll(self._polling):
                    if wanted(packet):
                        return packet

    async def upgrade(self) -> None:
        self.ws = await self.http.ws_connect(self.base + f"&transport=websocket&sid={self.sid}")
        await self.ws.send_str("2probe")
        assert await self.ws.receive_str(timeout=WAIT) == "3probe"
        await self.ws.send_str("5")

    async def received(self, wanted: Callable[[str], bool]) -> str:
        assert self.ws is not None
        async with asyncio.timeout(WAIT):
            while not wanted(packet := await self.ws.receive_str()):
                pass
        return packet

    @property
    def _polling(self) -> str:
        return f"{self.base}&transport=polling&sid={self.sid}"

    async def _poll(self, url: str) -> list[str]:
        async with self.http.get(url) as response:
            assert response.status == 200
            return (await response.text()).split("\x1e")

    async def _post(self, packet: str) -> None:
        async with self.http.post(self._polling, data=packet) as response:
            assert response.status == 200


def posted(message_id: int) -> Callable[[str], bool]:
    return lambda packet: packet.startswith("42") and f'"id":{message_id},' in packet


async def test_a_member_who_upgrades_after_entering_is_then_written_directly(
    world: World,
) -> None:
    """The room's lane noted this member on long-polling; once on websocket, one broadcast
    still goes through engine.io's queue (which now feeds the websocket) and the next is
    written directly, every message arriving once and in order."""
    room = {"session_id": world.public.id}
    sender = await world.guest("Sender")
    await sender.ok("room.enter", room)
    token = await guest_token(world.http, "Late upgrader")
    async with aiohttp.ClientSession() as http:
        late = EngineIOByHand(http, world.url)
        await late.open(token)
        await late.call("room.enter", room)
        # The count's signal for the newcomer, sent on the ticker's next tick, is out of the
        # way before broadcasts are counted: it would count among them.
        await sender.wait_for("room.count_changed", lambda c: c["count"] == 2)
        on_polling = await sender.ok("chat.send", {**room, "text": "while polling"})
        await late.polled_until(posted(on_polling["id"]))

        await late.upgrade()
        socket = world.http.server.app[REALTIME].sio.eio.sockets[late.sid]
        await until(lambda: socket.upgraded)
        before = FanoutStats(**vars(stats(world)))
        noticed = await sender.ok("chat.send", {**room, "text": "first on websocket"})
        await late.received(posted(noticed["id"]))
        assert (stats(world).direct - before.direct, stats(world).queued - before.queued) == (1, 1)

        before = FanoutStats(**vars(stats(world)))
        direct = await sender.ok("chat.send", {**room, "text": "written directly"})
        await late.received(posted(direct["id"]))
        assert (stats(world).direct - before.direct, stats(world).queued - before.queued) == (2, 0)


@pytest.mark.parametrize(
    "data",
    [
        ["chat.posted", {"text": "salam", "author": {"id": 1}, "tags": [1, "a", None]}],
        ["file", {"parts": [{"name": "a"}, {"body": b"\x00\x01"}]}],
        ["raw", bytearray(b"abc")],
        [{"deep": [[[{"x": [b""]}]]]}],
        [],
    ],
)
def test_fast_packets_find_binary_attachments_as_stock_does(data: list[object]) -> None:
    fast = fanout.FastPacket(sio_packet.EVENT, data=data)
    stock = sio_packet.Packet(sio_packet.EVENT, data=data)
    assert fast.packet_type == stock.packet_type
    assert fast.encode() == stock.encode()


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536])
def test_frames_follow_rfc_6455(size: int) -> None:
    text = "x" * size
    frame = text_frame(text)
    assert frame[0] == 0x81  # final fragment, text
    assert frame[1] & 0x80 == 0  # server frames are not masked
    length, offset = frame[1] & 0x7F, 2
    if length == 126:
        length, offset = int.from_bytes(frame[2:4], "big"), 4
    elif length == 127:
        length, offset = int.from_bytes(frame[2:10], "big"), 10
    assert length == size and frame[offset:] == text.encode()


async def test_a_process_leaves_the_redis_channel_of_a_room_it_emptied(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fanout, "SWEEP_EVERY", 0.05)
    manager = fanout.FastRedisManager(REDIS_URL, channel="sweep-test")
    socketio.AsyncServer(async_mode="aiohttp", client_manager=manager)  # the manager's server
    redis = Redis.from_url(REDIS_URL)
    channel = "sweep-test:s:99"

    async def listening() -> int:
        return int(dict(await redis.pubsub_numsub(channel))[channel.encode()])

    async def until(count: int) -> None:
        while True:
            if await listening() == count and manager.connected:
                return
            await asyncio.sleep(0.02)  # polling Redis's count: no event to wait on

    try:
        manager.initialize()  # as the first connection does: the listener, the sweep
        await asyncio.wait_for(until(0), WAIT)  # and the listener has connected
        sid = await manager.connect("eio-1", "/")
        await manager.enter_room(sid, "/", "s:99")
        assert await listening() == 1  # subscribed before enter_room returned
        await manager.disconnect(sid, "/", ignore_queue=True)
        await asyncio.wait_for(until(0), WAIT)
        assert channel not in manager.room_channels
    finally:
        for task in (manager.thread, manager.sweeping):
            task.cancel()
        await asyncio.gather(manager.thread, manager.sweeping, return_exceptions=True)
        await manager.redis.aclose()
        await redis.aclose()


class _Unscannable(dict):  # type: ignore[type-arg]
    """A namespace's rooms that refuse the stock disconnect's scan of all of them."""

    def items(self):  # type: ignore[no-untyped-def]
        raise AssertionError("a disconnect scanned every room")

    def copy(self):  # type: ignore[no-untyped-def]
        raise AssertionError("a disconnect scanned every room")


async def test_a_disconnect_leaves_exactly_the_rooms_the_connection_was_in() -> None:
    """The manager indexes each connection's rooms; a disconnect leaves those, and the
    stock structures end as the stock scan would leave them."""
    manager = fanout.FastEmit()
    socketio.AsyncServer(client_manager=manager)  # gives the manager its server
    leaving, staying = await manager.connect("eio-1", "/"), await manager.connect("eio-2", "/")
    for sid in (leaving, staying):
        manager.basic_enter_room(sid, "/", "s:1")
    manager.basic_enter_room(leaving, "/", "u:7")
    assert sorted(manager.get_rooms(leaving, "/")) == sorted([leaving, "s:1", "u:7"])

    manager.rooms["/"] = _Unscannable(manager.rooms["/"])
    await manager.disconnect(leaving, "/")
    assert set(manager.rooms["/"]) == {None, staying, "s:1"}
    assert dict(manager.rooms["/"]["s:1"]) == {staying: "eio-2"}
    assert manager.get_rooms(leaving, "/") == []
    assert sorted(manager.get_rooms(staying, "/")) == sorted([staying, "s:1"])
    assert not manager.is_connected(leaving, "/")
