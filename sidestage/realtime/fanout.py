"""Broadcasts encoded and framed once, then written to every local recipient directly.

Stock python-socketio sends a room broadcast by starting one asyncio task per recipient;
each puts the packet on that connection's queue, whose own writer task (woken through
``wait_for``) hands it to aiohttp, which frames it, and by default compresses it, again
for every connection. Here the Socket.IO packet is encoded once, wrapped once in a
websocket text frame, and written to each recipient's transport in one loop with no task
per recipient. What goes on the wire is what the stock path sends, uncompressed: any
standard Socket.IO client reads it, and permessage-deflate allows uncompressed messages.

Order is kept per connection: a frame is written directly only when nothing is waiting
for that connection (its queue is empty and its transport has nothing buffered, so its
writer task holds no packet either). Otherwise, and for long-polling connections, the
packet joins the queue behind the others. Broadcasts with binary attachments or acks
take the stock path.

Private API (python-socketio 5.18, python-engineio 4.15, aiohttp 3.14), all here:
- ``engineio.AsyncServer._async["websocket"]``: the driver class; ``FastWebSocket``
  replaces it per server to turn compression off and note each connection's
  ``WebSocketResponse`` on its engine.io socket (the handler it runs is the socket's
  bound ``_websocket_handler``);
- ``engineio.async_socket.AsyncSocket``: ``queue`` (what its writer sends), ``upgraded``,
  ``closed``; the server's ``sockets`` by engine.io sid;
- ``aiohttp.web.WebSocketResponse._writer.transport``.
If any is missing, broadcasts take the stock path (``FanoutStats.stock`` counts them) and
a warning is logged once: slower, never wrong.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass
from typing import Any

import socketio
from aiohttp.web import WebSocketResponse
from engineio import packet as eio_packet
from engineio.async_drivers.aiohttp import WebSocket as EngineWebSocket
from socketio import packet as sio_packet

log = logging.getLogger(__name__)
WEBSOCKET_ATTRIBUTE = "_sidestage_websocket"


class FastWebSocket(EngineWebSocket):  # type: ignore[misc]
    """engine.io's aiohttp websocket, uncompressed, known to its engine.io socket."""

    async def __call__(self, environ: dict[str, Any]) -> WebSocketResponse:
        self._sock = WebSocketResponse(
            max_msg_size=self.server.max_http_buffer_size, compress=False
        )
        await self._sock.prepare(environ["aiohttp.request"])
        self.environ = environ
        owner = getattr(self.handler, "__self__", None)
        if owner is not None:
            setattr(owner, WEBSOCKET_ATTRIBUTE, self._sock)
        await self.handler(self)
        return self._sock


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


@dataclass
class FanoutStats:
    """Deliveries by path, for tests and benchmarks."""

    direct: int = 0  # written straight to the websocket's transport
    queued: int = 0  # behind packets already waiting, or long-polling
    stock: int = 0  # broadcasts left to python-socketio (acks, binary, missing API)


class FastEmit(socketio.AsyncManager):  # type: ignore[misc]
    """A client manager whose room broadcasts take the fast path (see the module doc)."""

    stats: FanoutStats
    _warned = False

    def initialize(self) -> None:
        super().initialize()
        self.stats = FanoutStats()

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
            self.stats.stock += 1
            await super().emit(event, data, namespace, room, skip_sid, callback, **kwargs)
            return
        arguments = list(data) if isinstance(data, tuple) else [] if data is None else [data]
        encoded = self.server.packet_class(
            sio_packet.EVENT, namespace=namespace, data=[event, *arguments]
        ).encode()
        if isinstance(encoded, list):  # binary attachments: several engine.io packets
            self.stats.stock += 1
            await super().emit(event, data, namespace, room, skip_sid, callback, **kwargs)
            return
        message = eio_packet.Packet(eio_packet.MESSAGE, encoded)
        self._deliver(message, namespace, room, _skipped(skip_sid))

    def _deliver(
        self, message: eio_packet.Packet, namespace: str, room: Any, skipped: set[str]
    ) -> None:
        frame: bytes | None = None
        sockets = self.server.eio.sockets
        for sid, eio_sid in self.get_participants(namespace, room):
            socket = sockets.get(eio_sid)
            if sid in skipped or socket is None or socket.closed:
                continue
            transport = _idle_transport(socket)
            if transport is None:
                socket.queue.put_nowait(message)
                self.stats.queued += 1
                continue
            frame = frame or text_frame(message.encode())
            transport.write(frame)
            self.stats.direct += 1

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


def _idle_transport(socket: Any) -> Any:
    """The connection's transport if a frame may be written now without reordering."""
    websocket = getattr(socket, WEBSOCKET_ATTRIBUTE, None)
    if websocket is None or not socket.upgraded or not socket.queue.empty():
        return None
    writer = getattr(websocket, "_writer", None)
    transport = getattr(writer, "transport", None)
    if transport is None or transport.is_closing() or transport.get_write_buffer_size():
        return None
    return transport


class FastManager(FastEmit):
    """One process (the embedded default)."""


class FastRedisManager(socketio.AsyncRedisManager, FastEmit):  # type: ignore[misc]
    """Several processes: each delivers what Redis brings with the fast path.

    In this order, ``AsyncPubSubManager``'s local delivery (``super().emit``) is
    ``FastEmit.emit``.
    """
