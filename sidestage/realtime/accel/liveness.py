"""engine.io's watch over silent clients, as one pass a second over every connection.

A client that stops answering pings is closed once its last ping has gone unanswered
for ``ping_timeout``. engine.io (python-engineio 4.15) keeps that watch in a task that
visits one connection, then waits ``ping_timeout / connections`` before the next, each
wait through ``wait_for`` on an event (a task and a timer every time): with 1,000
connections, 50 wake-ups a second, two fifths of what an idle process spent (22 ms of
CPU a second, against 2.5 ms for the raw reference server). Here the task wakes once a
second and checks them all: the same check (``check_ping_timeout``), a client closed at
most a second later than it would have been, and the same end (``shutdown`` sets the
event and awaits the task).

Private API, in python-engineio 4.15 (pinned): ``AsyncServer._service_task``,
``service_task_event``, ``sockets``; ``AsyncSocket.check_ping_timeout``, ``closed``,
``closing``. ``missing()`` checks them; where any is gone, engine.io's own task runs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import engineio

from sidestage.platform.fast_paths import lacking, source_lacks

log = logging.getLogger(__name__)
CHECK_EVERY = 1.0  # seconds between passes over all connections


class WatchedConnections:
    """A step of engine.io's ``AsyncServer``, before it in the bases."""

    sockets: dict[str, engineio.async_socket.AsyncSocket]
    service_task_event: asyncio.Event
    create_event: Callable[[], asyncio.Event]  # engine.io's, after this in the bases

    async def _service_task(self) -> None:
        self.service_task_event = self.create_event()
        while not await self._stopped_within(CHECK_EVERY):
            for socket in list(self.sockets.values()):
                await self._check(socket)

    async def _stopped_within(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self.service_task_event.wait(), timeout=seconds)
        except TimeoutError:
            return False
        return True

    async def _check(self, socket: engineio.async_socket.AsyncSocket) -> None:
        """Closes a connection whose client has gone silent; forgets a closed one."""
        if socket.closed:
            self.sockets.pop(socket.sid, None)
            return
        if socket.closing:
            return
        try:
            await socket.check_ping_timeout()
        except Exception:  # one connection's failure must not end the watch over all
            log.exception("checking engine.io connection %s failed", socket.sid)


def missing() -> list[str]:
    return [
        *lacking(engineio.AsyncServer, "_service_task", "create_event"),
        *source_lacks(engineio.AsyncServer._service_task, "self.service_task_event"),
        *source_lacks(engineio.AsyncServer.shutdown, "self.service_task_event.set()"),
        *source_lacks(engineio.base_server.BaseServer.__init__, "self.sockets = {}"),
        *lacking(engineio.async_socket.AsyncSocket, "check_ping_timeout", "close"),
        *source_lacks(engineio.base_socket.BaseSocket.__init__, "self.closed", "self.closing"),
    ]
