"""The live rooms' fast paths on private code of python-socketio, python-engineio and
aiohttp (the policy: ``platform/fast_paths.py``), and the Socket.IO server made of them.

Each path's module is imported only when it runs, so an upgrade that broke one leaves
Sidestage importable and on python-socketio's own steps:

- ``realtime.broadcasts`` (``fanout``, ``room_index``): a room broadcast encoded and
  framed once and written to every member in one loop; the room index; replies written
  to an idle websocket at once. Instead: python-socketio's managers (``channels``).
- ``realtime.websocket_loop``: a connection opened on websocket received in its own task.
  It runs inside ``realtime.broadcasts``' websocket driver. Instead: engine.io's loop.
- ``realtime.liveness``: one pass a second over every connection for the ping timeout.
  Instead: engine.io's task that visits one connection at a time.
- ``realtime.bounded_posts`` (``polling``): an oversized long-polling POST answered 413.
  A fix, not a speed-up: the switch leaves it on. Instead: engine.io's own check, whose
  answer never comes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import engineio
import socketio

from sidestage.platform import fast_paths
from sidestage.platform.fast_paths import FastPath, checks, lacking
from sidestage.realtime.channels import LocalDelivery, StockManager, StockRedisManager


def _engine_choice_missing() -> list[str]:
    """How a Socket.IO server is given an engine.io server class of ours."""
    return lacking(socketio.AsyncServer, "_engineio_server_class")


def _with_engine_choice(module: str) -> Callable[[], list[str]]:
    return lambda: _engine_choice_missing() + checks(module)()


BROADCASTS = FastPath(
    name="realtime.broadcasts",
    replaces="a task per recipient for every broadcast and reply (python-socketio)",
    instead="python-socketio's managers and sends",
    missing=checks("sidestage.realtime.accel.fanout", "sidestage.realtime.accel.room_index"),
)
WEBSOCKET_LOOP = FastPath(
    name="realtime.websocket_loop",
    replaces="two tasks per message received on websocket (engine.io)",
    instead="engine.io's receive loop",
    missing=checks("sidestage.realtime.accel.websocket_loop"),
)
LIVENESS = FastPath(
    name="realtime.liveness",
    replaces="a wake-up per connection for the ping timeout (engine.io)",
    instead="engine.io's ping-timeout task",
    missing=_with_engine_choice("sidestage.realtime.accel.liveness"),
)
BOUNDED_POSTS = FastPath(
    name="realtime.bounded_posts",
    replaces="engine.io's check of a long-polling POST's size, whose answer never comes",
    instead="engine.io's check: an oversized POST is not answered",
    missing=_with_engine_choice("sidestage.realtime.accel.polling"),
    needed=True,
)
PATHS = (BROADCASTS, WEBSOCKET_LOOP, LIVENESS, BOUNDED_POSTS)


def socket_server(redis_url: str | None, **options: Any) -> tuple[Any, LocalDelivery]:
    """This process's Socket.IO server and its client manager, with the fast paths that
    run here."""
    if fast_paths.runs(BROADCASTS):
        from sidestage.realtime.accel import fanout

        manager: LocalDelivery = (
            fanout.FastRedisManager(redis_url, channel="sidestage", redis_options=_POOL)
            if redis_url
            else fanout.FastEmit()
        )
        server = fanout.FastServer(client_manager=manager, **options)
        fanout.install_websocket_driver(server)
        return server, manager
    manager = (
        StockRedisManager(redis_url, channel="sidestage", redis_options=_POOL)
        if redis_url
        else StockManager()
    )
    stock = engine_server_class() is engineio.AsyncServer
    server_class = socketio.AsyncServer if stock else StockServer
    return server_class(client_manager=manager, **options), manager


# Every emit borrows a connection for its publish; redis-py's default pool refuses past
# 100 in use, which a burst of commands on one process reaches (see platform/hot_store.py).
# The manager builds its own pool, so it gets a higher cap.
_POOL = {"max_connections": 1000}


def engine_server_class() -> type[Any]:
    """engine.io's server with the steps of ours that run here (none: engine.io's own)."""
    steps: list[type[Any]] = []
    if fast_paths.runs(LIVENESS):
        from sidestage.realtime.accel.liveness import WatchedConnections

        steps.append(WatchedConnections)
    if fast_paths.runs(BOUNDED_POSTS):
        from sidestage.realtime.accel.polling import BoundedPosts

        steps.append(BoundedPosts)
    return _composed(tuple(steps))


@functools.cache
def _composed(steps: tuple[type[Any], ...]) -> type[Any]:
    """One class per combination, so the servers of a process share it."""
    if not steps:
        return engineio.AsyncServer
    return type("EngineServer", (*steps, engineio.AsyncServer), {})


class StockServer(socketio.AsyncServer):  # type: ignore[misc]
    """python-socketio's own server, on ``engine_server_class()``: where the broadcasts
    are python-socketio's, the fix and the other engine.io paths that run still apply."""

    def _engineio_server_class(self) -> type[Any]:
        return engine_server_class()
