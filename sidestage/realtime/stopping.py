"""Stopping with people connected: every connection is closed first, with a bound.

On SIGTERM aiohttp stops listening, runs ``on_shutdown``, then waits (up to its shutdown
timeout, a minute by default) for the handlers still running, and only then runs the
cleanup contexts. A websocket's handler and a long-polling GET run as long as their
connection, so without this the process waited the whole minute and closed the
connections only afterwards. Closing them at ``on_shutdown`` ends those handlers at
once, while the database is still open for their departures (attendance stays end).

The close is engine.io's, not Socket.IO's disconnect: clients see the transport close and
reconnect (to another process behind the load balancer), where a Socket.IO disconnect
would tell them the server sent them away for good.
"""

from __future__ import annotations

import asyncio
import logging

import engineio

log = logging.getLogger("sidestage.realtime")
GOODBYE_WITHIN = 3.0  # seconds for the closes to reach clients; stop anyway after that


async def close_every_connection(eio: engineio.AsyncServer, within: float = GOODBYE_WITHIN) -> None:
    sockets = [s for s in list(eio.sockets.values()) if not s.closed]
    if not sockets:
        return
    # A close waits until its CLOSE packet is sent: on long polling that is the client's
    # next GET, which a vanished client never sends; hence the bound.
    closing = [asyncio.create_task(s.close(reason=eio.reason.SERVER_DISCONNECT)) for s in sockets]
    done, late = await asyncio.wait(closing, timeout=within)
    for task in late:
        task.cancel()
    await asyncio.gather(*closing, return_exceptions=True)
    for socket in sockets:
        if socket.upgraded:
            # The end of its queue: the websocket's writer closes it now, rather than the
            # handler waiting for the client to close it (seconds, or never).
            socket.queue.put_nowait(None)
    log.info("closed %d connections for shutdown (%d without a goodbye)", len(done), len(late))
