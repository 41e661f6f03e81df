"""What the room feed needs of the Socket.IO client manager, on python-socketio's public API.

The room feed keeps each room's order and once-only itself, so it asks three things of
the manager: deliver an event to this process's members of a channel (or to a few
connections) before anything else is delivered to them, join a connection to a channel
with nothing delivered in between, and hear a channel's broadcasts from the other
processes. ``StockManager`` and ``StockRedisManager`` do it with python-socketio's own
managers; ``accel/fanout.py`` does the same faster on their private code.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import socketio

NAMESPACE = "/"


@dataclass
class FanoutStats:
    """Deliveries by path, for ``/metrics``, tests and benchmarks."""

    direct: int = 0  # written straight to the websocket's transport
    queued: int = 0  # behind packets already waiting, or long-polling
    stock: int = 0  # left to python-socketio (acks, binary, fast paths off or missing)


class LocalDelivery:
    """A mixin for a python-socketio client manager, before it in the bases."""

    # python-socketio's, after this in the bases
    rooms: dict[str, dict[Any, Any]]
    get_participants: Callable[[str, Any], Iterator[tuple[str, Any]]]
    basic_enter_room: Callable[[str, str, Any], None]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stats = FanoutStats()
        self._sends: set[asyncio.Task[None]] = set()

    def deliver_now(self, event: str, data: Any, to: Any) -> None:
        """Deliver to this process's members of ``to`` (a channel, or a list of sids),
        never through Redis. The members are taken now, so one who joins later does not
        get it too; each send runs as a task, started in call order, so each connection
        gets events in the order they were delivered."""
        members = [sid for sid, _ in self.get_participants(NAMESPACE, to)]
        if not members:
            return
        self.stats.stock += len(members)
        local = socketio.AsyncManager.emit(self, event, data, NAMESPACE, room=members)
        task = asyncio.get_running_loop().create_task(local)
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)

    def join_now(self, sid: str, channel: str) -> None:
        """Add ``sid`` to the channel at once: the next delivery reaches it."""
        self.basic_enter_room(sid, NAMESPACE, channel)

    async def listen_to(self, channel: str) -> None:
        """Make sure this process hears ``channel``'s broadcasts from the other processes:
        python-socketio's Redis manager hears every channel."""

    def has_members(self, channel: str) -> bool:
        return bool(self.rooms.get(NAMESPACE, {}).get(channel))


class StockManager(LocalDelivery, socketio.AsyncManager):  # type: ignore[misc]
    """python-socketio's manager of one process, as the room feed uses it."""


class StockRedisManager(LocalDelivery, socketio.AsyncRedisManager):  # type: ignore[misc]
    """python-socketio's Redis manager, every process on one shared channel. After Redis
    restarts it subscribes again with its own back-off (up to a minute): the signals
    between processes (counts, tallies) wait for it, the numbered room events do not (the
    room feed reads back what Redis lost)."""
