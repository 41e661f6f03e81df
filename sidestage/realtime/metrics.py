"""The live rooms' figures for ``/metrics``, read when scraped from what the Socket.IO
server keeps anyway: nothing is added to the broadcast loop or to a command's path."""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING

from sidestage.platform.metrics import Metrics, Samples
from sidestage.realtime.channels import FanoutStats
from sidestage.rooms.commands import Connection

if TYPE_CHECKING:
    from sidestage.realtime.server import Realtime


def measure(metrics: Metrics, realtime: Realtime) -> None:
    metrics.read_at_scrape(
        "sidestage_connections",
        "Socket.IO connections open on this process, signed in.",
        lambda: [((), len(_connections(realtime)))],
    )
    metrics.read_at_scrape(
        "sidestage_live_rooms",
        "Live rooms with someone in them on this process.",
        lambda: [((), len({room for c in _connections(realtime) for room in c.rooms}))],
    )
    metrics.read_at_scrape(
        "sidestage_deliveries",
        "Packets written to connections: room broadcasts (one per recipient) and replies "
        "to one connection, by path (direct to the socket, queued, or the stock path; replies "
        "are counted where the fast path realtime.broadcasts runs).",
        lambda: [
            *_by_path("broadcast", realtime.fanout.stats),
            *_by_path("reply", getattr(realtime.sio, "replies", FanoutStats())),
        ],
        labels=("kind", "path"),
        counter=True,
    )


def _connections(realtime: Realtime) -> list[Connection]:
    transport = realtime.transport
    return [] if transport is None else list(transport.connections.values())


def _by_path(kind: str, stats: FanoutStats) -> Samples:
    return [
        ((kind, field.name), value)
        for field in fields(stats)
        if isinstance(value := getattr(stats, field.name), int)
    ]
