"""Which rooms each connection is in, kept as it enters and leaves them.

python-socketio finds a connection's rooms by scanning every room of the namespace, on
each disconnect and each ``rooms(sid)``. Every connection has a room of its own and one
for its person, so with 5,000 people on a process one disconnect scans 10,000 rooms, and
everyone leaving at the end of a side event scans fifty million. With this index a
disconnect costs what the connection's own rooms cost.

Private API (python-socketio 5.18): ``BaseManager.rooms``, ``callbacks``,
``pending_connect``, ``pending_disconnect``, and the ``basic_*`` methods overridden here,
which every room change of the async managers goes through. ``missing()`` checks them
(with the rest of ``realtime.broadcasts``).
"""

from __future__ import annotations

from typing import Any

import socketio

from sidestage.platform.fast_paths import lacking, source_lacks


class IndexedRooms:
    """A mixin for a python-socketio client manager, before it in the bases."""

    rooms: dict[str, dict[Any, Any]]
    callbacks: dict[str, Any]
    pending_connect: dict[str, list[str]]
    pending_disconnect: dict[str, list[str]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rooms_of: dict[tuple[str, str], set[Any]] = {}

    def basic_enter_room(self, sid: str, namespace: str, room: Any, eio_sid: Any = None) -> None:
        super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)  # type: ignore[misc]
        self._rooms_of.setdefault((namespace, sid), set()).add(room)

    def basic_leave_room(self, sid: str, namespace: str, room: Any) -> None:
        super().basic_leave_room(sid, namespace, room)  # type: ignore[misc]
        rooms = self._rooms_of.get((namespace, sid))
        if rooms is not None:
            rooms.discard(room)
            if not rooms:
                del self._rooms_of[(namespace, sid)]

    def basic_disconnect(self, sid: str, namespace: str, **kwargs: Any) -> None:
        """The stock one, with the connection's rooms from the index instead of a scan."""
        for room in list(self._rooms_of.get((namespace, sid), ())):
            self.basic_leave_room(sid, namespace, room)
        self.callbacks.pop(sid, None)
        for pending in (self.pending_connect, self.pending_disconnect):
            waiting = pending.get(namespace)
            if waiting is not None and sid in waiting:
                waiting.remove(sid)
                if not waiting:
                    del pending[namespace]

    def get_rooms(self, sid: str, namespace: str) -> list[Any]:
        return [room for room in self._rooms_of.get((namespace, sid), ()) if room is not None]


def missing() -> list[str]:
    manager = socketio.AsyncManager
    return [
        *lacking(manager, "basic_enter_room", "basic_leave_room", "basic_disconnect", "get_rooms"),
        *source_lacks(
            socketio.base_manager.BaseManager.__init__,
            "self.rooms",
            "self.callbacks",
            "self.pending_connect",
            "self.pending_disconnect",
        ),
    ]
