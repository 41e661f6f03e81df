"""Broadcasts encoded and framed once, then written to every local recipient directly.

Stock python-socketio sends a room broadcast by starting one asyncio task per recipient;
each puts the packet on that connection's queue, whose own writer task (woken through
``wait_for``) hands it to aiohttp, which frames it, and by default compresses it, again
for every connection. Here the Socket.IO packet is encoded once, wrapped once in a
websocket text frame, and written to each recipient's transport in one loop with no task
per recipient. What goes on the wire is what the stock path sends, uncompressed: any
standard Socket.IO client reads it, and permessage-deflate allows uncompressed messages.

Order is kept per connection: a frame is written directly only when nothing waits in
that connection's engine.io queue; otherwise, and for long-polling connections, the
packet joins the queue behind the others. Once a connection is on websocket, everything
but engine.io's pings is written directly, so its queue stays empty: a slow reader's
frames wait in its transport's buffer, in order (as they would have in the unbounded
queue), until engine.io's ping timeout drops a reader that stopped reading. Broadcasts
with binary attachments or acks take the stock path.

Private API (python-socketio 5.18, python-engineio 4.15, aiohttp 3.14), all here:
- ``engineio.AsyncServer._async["websocket"]``: the driver class; ``FastWebSocket``
  replaces it per server to turn compression off and note each connection's transport
  on its engine.io socket (the handler it runs is the socket's bound
  ``_websocket_handler``, or ``websocket_loop.serve_websocket`` for a connection that
  opens on websocket: that module lists what it uses);
- ``engineio.async_socket.AsyncSocket``: ``queue`` (what its writer sends), ``upgraded``,
  ``closed``; the server's ``sockets`` by engine.io sid;
- ``aiohttp.web.WebSocketResponse._writer.transport``; ``StreamResponse
  ._send_headers_immediately`` (False: ``prepare()`` leaves the handshake's answer to the
  stream writer's first ``write()`` or ``send_headers()``; were it gone, the answer would
  simply go out alone, as before);
- ``socketio.packet.Packet.data_is_binary``: ``FastPacket`` (the server's serializer
  class, a public option) gives its own;
- ``socketio.AsyncServer._send_packet(eio_sid, packet)``: how the server sends a packet
  to one connection; ``FastServer`` overrides it to write it the same way;
  ``_engineio_server_class()``: the engine.io server it makes (``liveness``'s).
``missing()`` checks them at start-up (``realtime.broadcasts`` in ``accel``): if any is
gone, python-socketio's own managers run (``channels``) and a warning says so once. A
broadcast this path cannot take (acks, binary attachments) is left to python-socketio
(``FanoutStats.stock`` counts them): slower, never wrong.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import struct
from collections.abc import Sized
from typing import Any

import engineio
import socketio
from aiohttp.abc import AbstractStreamWriter
from aiohttp.web import WebSocketResponse
from engineio import packet as eio_packet
from engineio.async_drivers.aiohttp import WebSocket as EngineWebSocket
from engineio.base_socket import BaseSocket
from redis.exceptions import RedisError
from socketio import packet as sio_packet

from sidestage.platform import fast_paths
from sidestage.platform.fast_paths import lacking, source_lacks
from sidestage.realtime.accel import WEBSOCKET_LOOP, engine_server_class
from sidestage.realtime.accel.room_index import IndexedRooms
from sidestage.realtime.accel.websocket_loop import serve_websocket, takes_over
from sidestage.realtime.channels import FanoutStats, LocalDelivery

log = logging.getLogger(__name__)
TRANSPORT_ATTRIBUTE = "_sidestage_transport"  # on an engine.io socket: its websocket's
SWEEP_EVERY = 30.0  # seconds between leaving the Redis channels of rooms now empty here
# A room member as a broadcast needs it: Socket.IO sid, engine.io socket, the websocket
# transport to write to (None while on long-polling), and what waits in the engine.io
# queue, which must be empty for a frame written now to come after everything sent
# before: the queue's own deque, read without a call per member (``_waiting``).
LaneEntry = tuple[str, Any, Any, "Sized"]


class _HandshakeHeld(WebSocketResponse):
    """A websocket response whose handshake answer (101) waits to go out with the first
    frame: one write and one segment instead of two, for every connection."""

    _send_headers_immediately = False


class FastWebSocket(EngineWebSocket):  # type: ignore[misc]
    """engine.io's aiohttp websocket, uncompressed, known to its engine.io socket.

    For a connection that opens on websocket, the handshake's answer is written together
    with engine.io's OPEN packet, the first thing its writer sends: RFC 6455 has the
    client send nothing before that answer, and until the OPEN packet leaves engine.io's
    queue nothing else is written directly (a frame goes direct only past an empty queue:
    ``_deliver``, ``_idle_transport``). An upgrade from long-polling gets its answer at
    once: its client speaks first (the probe).
    """

    _stream: AbstractStreamWriter | None = None
    _held = False  # the handshake's answer is not written yet

    async def __call__(self, environ: dict[str, Any]) -> WebSocketResponse:
        self._sock = _HandshakeHeld(max_msg_size=self.server.max_http_buffer_size, compress=False)
        self._stream = await self._sock.prepare(environ["aiohttp.request"])
        self._held = True
        self.environ = environ
        owner = getattr(self.handler, "__self__", None)
        transport = getattr(getattr(self._sock, "_writer", None), "transport", None)
        if owner is not None and transport is not None:
            setattr(owner, TRANSPORT_ATTRIBUTE, transport)  # found once, used per delivery
        if fast_paths.runs(WEBSOCKET_LOOP) and takes_over(owner):
            await serve_websocket(owner, self)
        else:
            self._release()
            await self.handler(self)
        return self._sock

    async def send(self, message: str | bytes) -> None:
        if self._held and isinstance(message, str) and self._stream is not None:
            self._held = False
            await self._stream.write(text_frame(message))  # after the held answer, at once
            return
        self._release()
        await super().send(message)

    async def close(self) -> None:
        self._release()
        await super().close()

    def _release(self) -> None:
        if self._held and self._stream is not None:
            self._held = False
            self._stream.send_headers()


class FastPacket(sio_packet.Packet):  # type: ignore[misc]
    """A Socket.IO packet that looks for binary attachments in one pass. Stock builds a
    list for every list and dict on the way and reduces it with a lambda: for the room's
    whole state, answering ``room.enter``, that took twice as long as encoding it."""

    @classmethod
    def data_is_binary(cls, data: Any) -> bool:
        pending = [data]
        while pending:
            item = pending.pop()
            if isinstance(item, bytes | bytearray):
                return True
            if isinstance(item, list):
                pending.extend(item)
            elif isinstance(item, dict):
                pending.extend(item.values())
        return False


class FastServer(socketio.AsyncServer):  # type: ignore[misc]
    """A Socket.IO server whose packets to one connection (acks, the connect answer, an
    emit to one sid) are written straight to an idle websocket too, as broadcasts are:
    stock, each went through the connection's queue and woke its writer task, which
    then waited on the queue again through ``wait_for``, for every command answered."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, serializer=FastPacket, **kwargs)
        self.replies = FanoutStats()

    def _engineio_server_class(self) -> type[Any]:
        """engine.io with this process's other fast paths and fixes (``accel``)."""
        return engine_server_class()

    async def _send_packet(self, eio_sid: str, pkt: sio_packet.Packet) -> None:
        encoded = pkt.encode()
        sockets = getattr(self.eio, "sockets", None)
        socket = sockets.get(eio_sid) if isinstance(sockets, dict) else None
        idle = isinstance(encoded, str) and socket is not None and not socket.closed
        transport = _idle_transport(socket) if idle else None
        if transport is None:
            self.replies.queued += 1
            for part in encoded if isinstance(encoded, list) else [encoded]:
                await self.eio.send(eio_sid, part)
            return
        transport.write(text_frame(eio_packet.Packet(eio_packet.MESSAGE, encoded).encode()))
        self.replies.direct += 1


def install_websocket_driver(server: socketio.AsyncServer) -> None:
    """Use ``FastWebSocket`` for this server's websocket connections."""
    drivers = getattr(server.eio, "_async", None)
    if not isinstance(drivers, dict) or drivers.get("websocket") is not EngineWebSocket:
        log.warning("engine.io's websocket driver is not the expected one; left as it is")
        return
    server.eio._async = {**drivers, "websocket": FastWebSocket}


def text_frame(text: str) -> bytes:
    """One final, unmasked websocket text frame (RFC 6455 §5.2): server to client."""
    payload = text.encode()
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x81, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0x81, 126, size)
    else:
        header = struct.pack("!BBQ", 0x81, 127, size)
    return header + payload


class FastEmit(IndexedRooms, LocalDelivery, socketio.AsyncManager):  # type: ignore[misc]
    """A client manager whose room broadcasts take the fast path (see the module doc);
    on its own, the one process of the embedded default."""

    _warned = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Per room, its members' lane entries: found once, not on every broadcast;
        # dropped whenever someone enters or leaves the room.
        self._lanes: dict[tuple[str, Any], list[LaneEntry]] = {}

    def basic_enter_room(self, sid: str, namespace: str, room: Any, eio_sid: Any = None) -> None:
        super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)
        self._lanes.pop((namespace, room), None)

    def basic_leave_room(self, sid: str, namespace: str, room: Any) -> None:
        super().basic_leave_room(sid, namespace, room)
        self._lanes.pop((namespace, room), None)

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        room = to or room
        if callback is not None or namespace not in self.rooms or not self._fast_path_works():
            self._count_stock(namespace, room)
            await super().emit(event, data, namespace, room, skip_sid, callback, **kwargs)
            return
        arguments = list(data) if isinstance(data, tuple) else [] if data is None else [data]
        encoded = self.server.packet_class(
            sio_packet.EVENT, namespace=namespace, data=[event, *arguments]
        ).encode()
        if isinstance(encoded, list):  # binary attachments: several engine.io packets
            self._count_stock(namespace, room)
            await super().emit(event, data, namespace, room, skip_sid, callback, **kwargs)
            return
        message = eio_packet.Packet(eio_packet.MESSAGE, encoded)
        self._deliver(message, namespace, room, _skipped(skip_sid))

    def deliver_now(self, event: str, data: Any, to: Any) -> None:
        """``LocalDelivery.deliver_now`` on the fast path: written (or queued) before this
        returns. Where the fast path cannot take it, the stock delivery runs."""
        if "/" in self.rooms and self._fast_path_works():
            encoded = self.server.packet_class(sio_packet.EVENT, namespace="/", data=[event, data])
            packet = encoded.encode()
            if not isinstance(packet, list):
                self._deliver(eio_packet.Packet(eio_packet.MESSAGE, packet), "/", to, set())
                return
        super().deliver_now(event, data, to)

    def _deliver(
        self, message: eio_packet.Packet, namespace: str, room: Any, skipped: set[str]
    ) -> None:
        """The one loop every broadcast goes through, once per member: kept to what each
        must check (see ``LaneEntry``), everything else found when the lane was made."""
        frame = text_frame(message.encode())
        direct = 0
        lane = self._lane(namespace, room)
        if skipped:  # rarely anyone: filtered here, so the loop below needs no check for it
            lane = [entry for entry in lane if entry[0] not in skipped]
        for _, socket, transport, waiting in lane:
            if socket.closed:
                continue
            if transport is None or waiting or transport.is_closing():
                self._queue(namespace, room, socket, transport, message)
                continue
            transport.write(frame)
            direct += 1
        self.stats.direct += direct

    def _queue(self, namespace: str, room: Any, socket: Any, transport: Any, message: Any) -> None:
        """Behind what waits in the connection's queue, or for long-polling to carry. A
        connection gone on websocket since its lane entry was made gets a new one."""
        socket.queue.put_nowait(message)
        self.stats.queued += 1
        if transport is None and _websocket(socket) is not None:
            self._lanes.pop((namespace, room), None)

    def _lane(self, namespace: str, room: Any) -> list[LaneEntry]:
        """The room's members' entries (any room, several, or all)."""
        cacheable = isinstance(room, (str, int))
        lane = self._lanes.get((namespace, room)) if cacheable else None
        if lane is None:
            sockets = self.server.eio.sockets
            found = (
                (sid, sockets[eio_sid])
                for sid, eio_sid in self.get_participants(namespace, room)
                if eio_sid in sockets
            )
            lane = [
                (sid, socket, _websocket(socket), _waiting(socket.queue)) for sid, socket in found
            ]
            if cacheable:
                self._lanes[(namespace, room)] = lane
        return lane

    def _count_stock(self, namespace: str, room: Any) -> None:
        """A broadcast left to python-socketio counts once per recipient, as ours do."""
        if namespace in self.rooms:
            self.stats.stock += sum(1 for _ in self.get_participants(namespace, room))

    def _fast_path_works(self) -> bool:
        sockets = getattr(getattr(self.server, "eio", None), "sockets", None)
        if isinstance(sockets, dict):
            return True
        if not FastEmit._warned:
            FastEmit._warned = True
            log.warning("engine.io has no sockets index; broadcasts take the stock path")
        return False


def _skipped(skip_sid: Any) -> set[str]:
    if skip_sid is None:
        return set()
    return set(skip_sid) if isinstance(skip_sid, list) else {skip_sid}


def _waiting(queue: asyncio.Queue[Any]) -> Sized:
    """What holds the queue's items, true while any wait: asyncio.Queue's deque.

    Why: ``queue.empty()`` is a Python call, made for every member of every broadcast
    (2% of a server's samples in a 1,000-member room). A queue without that deque (not
    CPython's asyncio) is its own answer, through ``qsize``.
    """
    items = getattr(queue, "_queue", None)
    return items if isinstance(items, collections.deque) else _Pending(queue)


class _Pending:
    """A queue's size as a truth value, for queues whose items are not a deque."""

    def __init__(self, queue: asyncio.Queue[Any]) -> None:
        self._queue = queue

    def __len__(self) -> int:
        return self._queue.qsize()


def _websocket(socket: Any) -> Any:
    """The transport of a connection now on websocket, or None (long-polling)."""
    return getattr(socket, TRANSPORT_ATTRIBUTE, None) if socket.upgraded else None


def _idle_transport(socket: Any) -> Any:
    """The connection's transport if a frame written now comes after everything sent to
    it before: nothing waits in its engine.io queue. A slow reader's frames wait in the
    transport's buffer, in order, as they would have in the queue."""
    transport = _websocket(socket)
    if transport is None or not socket.queue.empty() or transport.is_closing():
        return None
    return transport


class FastRedisManager(socketio.AsyncRedisManager, FastEmit):  # type: ignore[misc]
    """Several processes, each hearing only the rooms it has members in.

    The stock Redis manager sends every broadcast on one channel, so every process
    decodes every room's traffic. Here a broadcast to a Sidestage channel (named
    ``kind:key``, see ``rooms.events.Audience``) goes on its own Redis channel,
    ``<channel>:<room>``, which a process subscribes to when one of its connections first
    enters that room, and leaves once none is left (checked every ``SWEEP_EVERY``). The
    rest (python-socketio's own rooms, broadcasts to everyone, disconnects, room changes
    of remote connections) stays on the shared channel. What arrives is delivered with
    the fast path: in this base order, ``AsyncPubSubManager``'s local delivery is
    ``FastEmit.emit``.

    Private API beyond ``FastEmit``'s: ``AsyncRedisManager``'s ``redis``, ``pubsub``,
    ``connected``, ``_redis_connect``, and the ``_publish`` / ``_listen`` /
    ``_redis_listen_with_retries`` steps it is built from (overridden here).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.room_channels: set[str] = set()  # the Redis channels this process listens to
        self.sweeping: asyncio.Task[None] | None = None

    def initialize(self) -> None:
        super().initialize()
        if not self.write_only:
            self.sweeping = self.server.start_background_task(self._sweep)

    def channel_for(self, room: Any) -> str:
        if isinstance(room, str) and ":" in room:
            return f"{self.channel}:{room}"
        return str(self.channel)

    async def enter_room(
        self, sid: str, namespace: str, room: Any, eio_sid: str | None = None
    ) -> None:
        await super().enter_room(sid, namespace, room, eio_sid=eio_sid)
        if self.is_connected(sid, namespace):  # a connection of this process
            await self.listen_to(room)

    async def listen_to(self, room: Any) -> None:
        channel = self.channel_for(room)
        if channel not in self.room_channels and channel != self.channel:
            self.room_channels.add(channel)
            await self._subscribe(channel)

    async def _subscribe(self, channel: str) -> None:
        """Subscribed before the caller goes on: the room's next broadcast reaches us."""
        if self.pubsub is None or not self.connected:
            return  # the listener subscribes to every room channel when it connects
        try:
            await self.pubsub.subscribe(channel)
        except (RedisError, OSError):
            log.warning("subscribing to %s failed; the listener will on reconnecting", channel)

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_EVERY)
            rooms = self.rooms.get("/", {})
            start = len(self.channel) + 1
            idle = [c for c in self.room_channels if not rooms.get(c[start:])]
            self.room_channels.difference_update(idle)  # before any await: no race
            if idle and self.pubsub is not None and self.connected:
                try:
                    await self.pubsub.unsubscribe(*idle)
                except (RedisError, OSError):
                    log.warning("leaving %d room channels failed", len(idle))

    async def _publish(self, data: dict[str, Any]) -> Any:
        room = data.get("room") if data.get("method") == "emit" else None
        channel = self.channel_for(room)
        for attempt in (1, 2):
            try:
                if not self.connected:
                    self._redis_connect()
                return await self.redis.publish(channel, self.json.dumps(data))
            except (RedisError, OSError) as error:
                log.error("publishing to %s failed (attempt %d): %s", channel, attempt, error)
        return None

    async def _redis_listen_with_retries(self) -> Any:
        retry_in = 0.05
        while True:
            try:
                self._redis_connect()
                await self.pubsub.subscribe(self.channel, *self.room_channels)
                retry_in = 0.05
                async for message in self.pubsub.listen():
                    yield message
            except (RedisError, OSError) as error:
                log.error("listening on Redis failed, again in %g s: %s", retry_in, error)
                self.connected = False
                await asyncio.sleep(retry_in)
                # At most a second apart: publishing resumes the moment Redis is back, and
                # until this listener is subscribed again, what it misses is lost.
                retry_in = min(retry_in * 2, 1.0)

    async def _listen(self) -> Any:
        shared = self.channel.encode()
        prefix = shared + b":"
        async for message in self._redis_listen_with_retries():
            if message["type"] != "message" or "data" not in message:
                continue
            if message["channel"] == shared or message["channel"].startswith(prefix):
                yield message["data"]


def missing() -> list[str]:
    """The private names above that this process's libraries lack."""
    drivers = getattr(socketio.AsyncServer(async_mode="aiohttp").eio, "_async", None)
    driver = drivers.get("websocket") if isinstance(drivers, dict) else None
    manager = socketio.AsyncRedisManager
    return [
        *([] if driver is EngineWebSocket else ['engineio.AsyncServer._async["websocket"]']),
        *lacking(EngineWebSocket, "__call__", "send", "close"),
        *source_lacks(BaseSocket.__init__, "self.queue", "self.upgraded", "self.closed"),
        *source_lacks(engineio.base_server.BaseServer.__init__, "self.sockets = {}"),
        *lacking(WebSocketResponse, "_writer", "_send_headers_immediately"),
        *lacking(sio_packet.Packet, "data_is_binary"),
        *lacking(socketio.AsyncServer, "_send_packet", "_engineio_server_class"),
        *lacking(manager, "_redis_connect", "_publish", "_listen", "_redis_listen_with_retries"),
        *source_lacks(manager._redis_connect, "self.redis", "self.pubsub", "self.connected"),
    ]
