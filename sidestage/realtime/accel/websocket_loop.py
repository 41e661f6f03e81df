"""The receive loop of a connection that opens on websocket, without a task per message.

Why: engine.io's own loop (``AsyncSocket._websocket_handler``, python-engineio 4.15) waits
for every incoming message by starting a task and awaiting it through ``wait_for``, which
starts another; a join (Socket.IO connect, then ``room.enter``) and every vote or chat
line pays for both, and its writer waits for each packet to send (on an idle connection,
a ping every 20 s) the same way. Here the receive loop runs in the connection's own task,
silence is watched by one timer per quiet period (``QuietWatch``) rather than one per
message, and the writer waits on the queue until the receiving side puts ``None``: what
each message goes through (``AsyncSocket.receive``) and what the connection does when it
ends are engine.io's, unchanged. A connection that starts on long-polling and upgrades
(browsers do) keeps engine.io's loop, which also runs the upgrade's probe exchange.

Private API, in python-engineio 4.15: ``AsyncSocket.connected``, ``.upgraded``,
``.queue`` (read as ``.poll()`` reads it), ``.receive()``, ``.close()``;
``server.ping_interval``, ``.ping_timeout``, ``.max_http_buffer_size``, ``.reason``; the
driver's ``wait()``, ``send()`` and ``close()``. ``serve_websocket`` is used only where
``takes_over`` finds all of it, so an engine.io that moved any of it keeps its own loop;
``missing()`` checks it once, for the start-up log.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import engineio
from engineio import exceptions
from engineio import packet as eio_packet
from engineio.async_socket import AsyncSocket
from engineio.base_socket import BaseSocket

from sidestage.platform.fast_paths import lacking, source_lacks

log = logging.getLogger(__name__)
_SOCKET_API = ("connected", "upgraded", "queue", "receive", "close", "server")
_SERVER_API = ("ping_interval", "ping_timeout", "max_http_buffer_size", "reason")


def takes_over(socket: Any) -> bool:
    """Whether this loop serves ``socket``: one new on websocket, of the engine.io known."""
    if not isinstance(socket, AsyncSocket) or getattr(socket, "connected", True):
        return False
    server = getattr(socket, "server", None)
    return all(hasattr(socket, name) for name in _SOCKET_API) and all(
        hasattr(server, name) for name in _SERVER_API
    )


async def serve_websocket(socket: AsyncSocket, ws: Any) -> None:
    """Hand each message to engine.io until the client leaves, goes quiet or misbehaves."""
    socket.connected = socket.upgraded = True
    server = socket.server
    writer = asyncio.ensure_future(_send_queued(socket, ws))  # pings, answers
    quiet = QuietWatch(server.ping_interval + server.ping_timeout)
    try:
        await _receive_all(socket, ws, quiet)
        await socket.queue.put(None)  # lets the writer finish
        await writer
    finally:
        quiet.stop()
        writer.cancel()  # if this handler was cancelled first: nothing would end it
        # Once the writer has closed the websocket, aiohttp may cancel this handler; the
        # engine.io socket must close all the same (the disconnect runs), or the person
        # would count as connected until the ping timeout.
        await socket.close(wait=False, abort=True, reason=server.reason.TRANSPORT_CLOSE)


async def _receive_all(socket: AsyncSocket, ws: Any, quiet: QuietWatch) -> None:
    largest = socket.server.max_http_buffer_size
    while True:
        try:
            data = await quiet.next_message(ws)
        except (Exception, asyncio.CancelledError):
            # Closed, reset or silent past the ping timeout; a cancelled handler (the
            # server shutting down) is finished the same way, as engine.io's loop does.
            return
        if data is None or len(data) > largest or not await _received(socket, data):
            return


class QuietWatch:
    """Ends the wait for a message once the connection has been silent for ``limit``
    seconds, as ``asyncio.timeout`` around each wait would, with one timer per quiet
    period instead of one per message: a message only notes the time, and the timer,
    when it fires, looks at that time and sets itself again if something came since.
    Made in the task that waits, which it cancels on expiry."""

    def __init__(self, limit: float) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        self._limit = limit
        self._heard = self._loop.time()
        self._waiting = False
        self._expired = False
        self._timer = self._loop.call_at(self._heard + limit, self._check)

    async def next_message(self, ws: Any) -> Any:
        """``ws.wait()``; TimeoutError once the connection has been quiet too long."""
        self._waiting = True
        try:
            data = await ws.wait()
        except asyncio.CancelledError:
            if not self._expired:
                raise  # not ours: the server is shutting down
            assert self._task is not None
            self._task.uncancel()  # as asyncio.timeout: later awaits run normally
            raise TimeoutError from None
        finally:
            self._waiting = False
        self._heard = self._loop.time()
        return data

    def stop(self) -> None:
        self._timer.cancel()

    def _check(self) -> None:
        now = self._loop.time()
        if not self._waiting:  # a message is being handled: it counts as heard from
            self._timer = self._loop.call_at(now + self._limit, self._check)
        elif now < self._heard + self._limit:
            self._timer = self._loop.call_at(self._heard + self._limit, self._check)
        elif self._task is not None:
            self._expired = True
            self._task.cancel()


async def _received(socket: AsyncSocket, data: str | bytes) -> bool:
    """engine.io's handling of one message; False once the socket is closed, or for a
    message that is not engine.io's."""
    try:
        packet = eio_packet.Packet(encoded_packet=data)
    except Exception:
        return False
    try:
        await socket.receive(packet)
    except exceptions.UnknownPacketError:
        pass  # ignored, as engine.io ignores it
    except exceptions.SocketIsClosedError:
        return False
    except Exception:
        log.exception("engine.io could not take a message from %s", socket.sid)
    return True


async def _send_queued(socket: AsyncSocket, ws: Any) -> None:
    """What waits in the socket's queue, sent in order; the websocket closed at the end,
    which the receiving side marks by putting ``None``."""
    while True:
        packets = await _next_packets(socket.queue)
        if not packets:
            break
        try:
            for packet in packets:
                await ws.send(packet.encode())
        except Exception:
            break
    await ws.close()


async def _next_packets(queue: asyncio.Queue[Any]) -> list[Any]:
    """``AsyncSocket.poll()`` without its task per wait: the packets waiting, at least one,
    or none once ``None`` (the end) comes first. A ``None`` behind packets is put back,
    for the next call, exactly as ``poll()`` does."""
    first = await queue.get()
    queue.task_done()
    if first is None:
        return []
    packets = [first]
    while not queue.empty():
        packet = queue.get_nowait()
        queue.task_done()
        if packet is None:
            queue.put_nowait(None)
            break
        packets.append(packet)
    return packets


def missing() -> list[str]:
    server_fields = ("self.ping_interval", "self.ping_timeout", "self.max_http_buffer_size")
    return [
        *lacking(AsyncSocket, "receive", "close"),
        *source_lacks(
            BaseSocket.__init__, "self.server", "self.queue", "self.connected", "self.upgraded"
        ),
        *lacking(engineio.AsyncServer, "reason"),
        *source_lacks(engineio.base_server.BaseServer.__init__, *server_fields),
    ]
