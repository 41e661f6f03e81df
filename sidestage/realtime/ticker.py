"""Signals sent on a tick, not per event: room counts each second, poll tallies four times
a second, the marathon feed; and the heartbeat that keeps attendance honest.

Across processes, each tick's broadcast for a room or poll is claimed in Redis, so one
process sends it and the rate holds however many processes there are.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis
from sqlalchemy import select

from sidestage.platform.db import transaction
from sidestage.platform.program.models import Room, Session
from sidestage.rooms import events as audience
from sidestage.rooms.attendance import service as attendance
from sidestage.rooms.events import Outbox
from sidestage.rooms.feed import service as feed
from sidestage.rooms.polls import service as polls
from sidestage.rooms.room import events as room_events
from sidestage.rooms.shared import RoomServices

log = logging.getLogger("sidestage.realtime")
POLL_TICK = 0.25
COUNT_TICK = 1.0
BEAT_TICK = 1.0  # presence lost with a Redis restart is back within about this
SWEEP_TICK = 5.0
TOUCH_EVERY = 30.0
LIVE_ROOMS_REFRESH = 5.0


class Claims:
    """Who sends this tick's broadcast for a key: always us alone, or the first in Redis."""

    def __init__(self, redis: Redis | None) -> None:
        self.redis = redis

    async def claim(self, key: str, window: float) -> bool:
        if self.redis is None:
            return True
        slot = int(time.time() / window)
        name = f"sidestage:tick:{key}:{slot}"
        return bool(await self.redis.set(name, "1", nx=True, px=int(window * 2000)))


class Ticker:
    def __init__(
        self, services: RoomServices, publish: Callable[[Outbox], Awaitable[None]], claims: Claims
    ) -> None:
        self.services = services
        self.publish = publish
        self.claims = claims
        self.dirty_polls: set[int] = set()
        self.sent_counts: dict[int, int] = {}
        self._live_rooms: tuple[float, list[int]] = (0.0, [])
        self._last_touch = 0.0
        self._stopping = asyncio.Event()

    def polls_changed(self, poll_ids: set[int]) -> None:
        self.dirty_polls |= poll_ids

    async def run(self) -> None:
        loops = [
            (self.flush_polls, POLL_TICK),
            (self.send_counts, COUNT_TICK),
            (self.services.presence.heartbeat, BEAT_TICK),
            (self.sweep, SWEEP_TICK),
        ]
        await asyncio.gather(*(self._every(step, period) for step, period in loops))

    def stop(self) -> None:
        """Finish the steps under way and end; cancelling mid-step would cut database work."""
        self._stopping.set()

    async def _every(self, step: Callable[[], Awaitable[None]], period: float) -> None:
        while not self._stopping.is_set():
            started = time.monotonic()
            try:
                await step()
            except Exception:
                log.exception("tick %s failed", step.__name__)
            pause = max(0.0, period - (time.monotonic() - started))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), pause)

    async def flush_polls(self) -> None:
        pending, self.dirty_polls = self.dirty_polls, set()
        outbox = Outbox()
        for poll_id in pending:
            if not await self.claims.claim(f"poll:{poll_id}", POLL_TICK):
                self.dirty_polls.add(poll_id)  # another process sends this tick; ours next
                continue
            async with self.services.db() as db:
                await polls.publish_results(db, poll_id, outbox)
        await self.publish(outbox)

    async def send_counts(self) -> None:
        # Rooms with people here count even before the cached program list catches up.
        occupied = self.services.presence.local_rooms()
        live = sorted(set(await self._live_room_ids()) | occupied | set(self.sent_counts))
        counts = await self.services.presence.counts(live)
        outbox = Outbox()
        for session_id, count in counts.items():
            if self.sent_counts.get(session_id) == count:
                continue
            # Remember only what we sent: if another process holds this tick, it may have
            # sent an older count, and ours must still go out on a later tick.
            if await self.claims.claim(f"count:{session_id}", COUNT_TICK):
                body = room_events.CountChanged(session_id=session_id, count=count)
                outbox.add("room.count_changed", body, audience.room(session_id))
                self.sent_counts[session_id] = count
        if await self.claims.claim("marathon", COUNT_TICK):
            feed = room_events.MarathonCounts(counts={str(k): v for k, v in counts.items()})
            outbox.add("marathon.counts", feed, audience.MARATHON)
        await self.publish(outbox)

    async def _live_room_ids(self) -> list[int]:
        """Sessions in online rooms, re-read every few seconds (the program rarely changes)."""
        read_at, ids = self._live_rooms
        if time.monotonic() - read_at > LIVE_ROOMS_REFRESH:
            async with self.services.db() as db:
                rows = await db.scalars(
                    select(Session.id)
                    .join(Room, Room.id == Session.room_id)
                    .where(Room.type == "online")
                )
                ids = list(rows)
            self._live_rooms = (time.monotonic(), ids)
        return ids

    async def sweep(self) -> None:
        """Take dead processes' people out of the rooms, and keep attendance honest."""
        presence = self.services.presence
        gone = await presence.sweep_dead()
        async with transaction(self.services.db) as db:
            await attendance.close_stays(db, gone)
            if time.monotonic() - self._last_touch >= TOUCH_EVERY:
                self._last_touch = time.monotonic()
                await attendance.touch(db, presence.local_pairs())
                await attendance.sweep_stale(db)
                await feed.prune(db)
