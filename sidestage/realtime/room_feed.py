"""Each room's numbered events, delivered to this process's members: in order, once each,
none missed, whatever Redis does meanwhile.

Publishing. A command's room events were numbered and kept in its transaction
(``rooms/feed``). After the commit they are handed to this process's own delivery at
once, and published on the room's Redis channel for the other processes. Redis is the
doorbell, not the record: what it loses is read back from the database.

Delivering. For each room with members here, ``delivered`` is the last number this
process delivered to the room's channel. The next number is delivered at once; a later
one waits for those before it, which are read from the database if they have not come
within ``GRACE``; one already delivered is dropped. Every ``CHECK_EVERY`` the rooms'
numbers are read in one query, which catches the tail of a burst lost on the way; so
does every (re)subscription to Redis.

Entering. A connection joins a room at a number: its snapshot's, or where it resumes. It
is first sent every event after that number that this process already delivered, then
joins the channel, with nothing awaited between the two: the next delivery reaches it,
and nothing reaches it twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from itertools import islice
from typing import Any

from prometheus_client import Histogram
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sidestage.realtime.channels import LocalDelivery
from sidestage.rooms import events as audience
from sidestage.rooms.feed import service as feed
from sidestage.rooms.feed.service import Numbered

log = logging.getLogger("sidestage.realtime")
# Redis keeps keys apart per database, but not channels: two deployments sharing a
# server (each its own database number) would hear each other's rooms. So a room's
# channel names the database: ``sidestage:<db>:feed:<room>``.
CHANNEL = "sidestage:{}:feed:{}"
HOME = "sidestage:{}:feed"  # always subscribed: the listener's connection lives on it
GRACE = 0.05  # seconds an event waits for those before it before they are read back
CHECK_EVERY = 1.0  # seconds between looks at every room's number
SWEEP_EVERY = 30  # checks between letting go of rooms nobody here is in any more
RECENT = 512  # events kept per room for those entering, beyond which the database serves
RETRY_AT_MOST = 1.0  # seconds between attempts to reach Redis again


def channel(redis: Redis, session_id: int) -> str:
    return CHANNEL.format(_database(redis), session_id)


def _database(redis: Redis) -> int:
    return int(redis.connection_pool.connection_kwargs.get("db") or 0)


async def ring(redis: Redis, events: list[Numbered]) -> None:
    """Tell every process of committed room events (they read back what this loses)."""
    for event in events:
        sent = {"seq": event.seq, "name": event.name, "data": event.data}
        body = json.dumps(sent | {"at": event.committed_at})
        try:
            await redis.publish(channel(redis, event.session_id), body)
        except (RedisError, OSError) as error:
            log.warning("room %d, event %d not published: %s", event.session_id, event.seq, error)


@dataclass
class _LiveRoom:
    session_id: int
    delivered: int
    recent: deque[Numbered] = field(default_factory=lambda: deque(maxlen=RECENT))
    waiting: dict[int, Numbered] = field(default_factory=dict)
    filling: asyncio.Lock = field(default_factory=asyncio.Lock)
    fill_due: bool = False  # a read-back is scheduled
    entering: int = 0  # admissions under way: the room is not let go meanwhile

    @property
    def channel(self) -> str:
        return audience.room(self.session_id).channel


class RoomFeed:
    def __init__(
        self,
        db: async_sessionmaker[AsyncSession],
        redis: Redis | None,
        manager: LocalDelivery,
        connected: Callable[[str], bool],
        lag: Histogram | None = None,
    ) -> None:
        self.db = db
        self.lag = lag  # from commit to delivery here, per event
        self.redis = redis
        self.manager = manager
        self.connected = connected  # whether a sid is still one of this process's
        self.rooms: dict[int, _LiveRoom] = {}
        self.subscribed = asyncio.Event()  # Redis hears this process's rooms now
        self._tracking: dict[int, asyncio.Future[_LiveRoom]] = {}
        self._pubsub: PubSub | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # Publishing

    async def publish(self, events: list[Numbered]) -> None:
        for event in events:
            self.receive(event)
        if self.redis is not None:
            await ring(self.redis, events)

    # Delivering

    def receive(self, event: Numbered) -> None:
        room = self.rooms.get(event.session_id)
        if room is None or event.seq <= room.delivered:
            return
        room.waiting[event.seq] = event
        self._drain(room)

    def _drain(self, room: _LiveRoom) -> None:
        while (event := room.waiting.pop(room.delivered + 1, None)) is not None:
            room.delivered = event.seq
            room.recent.append(event)
            self.manager.deliver_now(event.name, event.data, room.channel)
            if event.committed_at is not None and self.lag is not None:
                self.lag.observe(max(0.0, time.time() - event.committed_at))
        if room.waiting and not room.fill_due:
            room.fill_due = True
            self._start(self._fill_after_grace(room))

    async def _fill_after_grace(self, room: _LiveRoom) -> None:
        await asyncio.sleep(GRACE)
        room.fill_due = False
        if room.waiting:
            await self._fill(room, max(room.waiting))

    async def _fill(self, room: _LiveRoom, upto: int) -> None:
        """Read back and deliver the room's events up to ``upto``, all committed."""
        async with room.filling:
            if room.delivered >= upto:
                return
            async with self.db() as db:
                found = await feed.after(db, room.session_id, room.delivered, upto)
            for event in found:
                self.receive(event)
            if room.delivered >= upto:
                return  # the usual case: everything asked for was there
            async with self.db() as db:
                newest = await feed.current(db, room.session_id)
            self._drop_unknown(room, newest)
            if room.delivered < min(upto, newest):
                self._skip_lost(room, found)

    def _drop_unknown(self, room: _LiveRoom, newest: int) -> None:
        """Numbers beyond the room's newest were never given by this deployment (another
        one on the same Redis database, or a forged message): never wait for them."""
        unknown = [seq for seq in room.waiting if seq > newest]
        for seq in unknown:
            del room.waiting[seq]
        if unknown:
            log.warning(
                "room %d: dropped %d events numbered beyond its newest",
                room.session_id,
                len(unknown),
            )

    def _skip_lost(self, room: _LiveRoom, found: list[Numbered]) -> None:
        """Events no longer kept (pruned while this process lagged far behind): move on.
        Members see the jump in numbers and ask again, and are given the whole state."""
        later = [e.seq for e in found if e.seq > room.delivered] + list(room.waiting)
        after = min(later, default=None)
        if after is None:
            return
        first, last = room.delivered + 1, after - 1
        log.warning("room %d: events %d to %d are no longer kept", room.session_id, first, last)
        room.delivered = after - 1
        self._drain(room)

    # Entering

    async def admit(self, sid: str, session_id: int, seq: int) -> None:
        """Join ``sid`` to the room's channel after the event numbered ``seq``."""
        room = await self._track(session_id)
        room.entering += 1
        try:
            if seq > room.delivered:  # the snapshot is ahead of what reached this process
                await self._fill(room, seq)
            missed = await self._delivered_after(room, seq)
        finally:
            room.entering -= 1
        # Nothing is awaited from here on: no delivery can come between the two.
        if not self.connected(sid):
            return
        for event in missed:
            if event.seq > seq:
                self.manager.deliver_now(event.name, event.data, [sid])
        self.manager.join_now(sid, room.channel)

    def delivered_after(self, session_id: int, seq: int) -> list[Numbered] | None:
        """The room's events after ``seq`` that this process delivered, from memory:
        none when it delivered none beyond ``seq`` (or does not follow the room), None when
        some of them are no longer kept here."""
        room = self.rooms.get(session_id)
        if room is None or seq >= room.delivered:
            return []
        count, recent = room.delivered - seq, room.recent
        # Kept events are consecutive, except across a jump past lost ones (``_skip_lost``).
        if count > len(recent) or recent[-count].seq != seq + 1:
            return None
        return list(islice(recent, len(recent) - count, None))

    async def _delivered_after(self, room: _LiveRoom, seq: int) -> list[Numbered]:
        """The events after ``seq`` that this process delivered to the room, as of the
        moment this returns: from those kept in memory, and the database before them."""
        older: list[Numbered] = []
        while True:
            start = older[-1].seq if older else seq
            if start >= room.delivered:
                return older
            if room.recent and room.recent[0].seq <= start + 1:
                return older + [e for e in room.recent if e.seq > start]
            async with self.db() as db:
                found = await feed.after(db, room.session_id, start, room.delivered)
            if not found:
                return older + list(room.recent)  # pruned: the member sees the jump
            older += found

    async def _track(self, session_id: int) -> _LiveRoom:
        """The room, followed from now on: subscribed before its number is read, so every
        event after that number reaches this process (or is read back)."""
        room = self.rooms.get(session_id)
        if room is not None:
            return room
        pending = self._tracking.get(session_id)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[_LiveRoom] = asyncio.get_running_loop().create_future()
        self._tracking[session_id] = future
        try:
            room = await self._start_tracking(session_id)
            future.set_result(room)
            return room
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as error:
            future.set_exception(error)
            future.exception()  # retrieved: a waiter may or may not be there to see it
            raise
        finally:
            del self._tracking[session_id]

    async def _start_tracking(self, session_id: int) -> _LiveRoom:
        await self.manager.listen_to(audience.room(session_id).channel)  # counts, tallies
        if self.redis is not None:
            await self._subscribe(channel(self.redis, session_id))
        async with self.db() as db:
            room = _LiveRoom(session_id, await feed.current(db, session_id))
        self.rooms[session_id] = room
        return room

    async def _subscribe(self, name: str) -> None:
        if self._pubsub is None or not self.subscribed.is_set():
            return  # the listener subscribes to every room's channel when it reconnects
        try:
            await self._pubsub.subscribe(name)
        except (RedisError, OSError):
            log.warning("subscribing to %s failed; the listener will on reconnecting", name)

    # Running

    async def run(self) -> None:
        """Listen to Redis (if any) and check every room's number, until cancelled."""
        checking = asyncio.create_task(self._check_forever())
        try:
            if self.redis is not None:
                await self._listen_forever()
            else:
                self.subscribed.set()
                await checking
        finally:
            checking.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await checking
            for task in list(self._tasks):
                task.cancel()

    async def _listen_forever(self) -> None:
        assert self.redis is not None
        retry_in = 0.05
        while True:
            try:
                await self._listen(self.redis.pubsub())
            except (RedisError, OSError) as error:
                self.subscribed.clear()
                log.warning("the room feed lost Redis, again in %g s: %s", retry_in, error)
                await asyncio.sleep(retry_in)
                retry_in = min(retry_in * 2, RETRY_AT_MOST)
            else:
                retry_in = 0.05

    async def _listen(self, pubsub: PubSub) -> None:
        self._pubsub = pubsub
        try:
            assert self.redis is not None
            rooms = [channel(self.redis, session_id) for session_id in self.rooms]
            await pubsub.subscribe(HOME.format(_database(self.redis)), *rooms)
            self.subscribed.set()
            # Subscribed again: what was published while we were not is read back now.
            await self._check()
            async for message in pubsub.listen():
                if message.get("type") == "message":
                    self._on_message(message)
        finally:
            self.subscribed.clear()
            self._pubsub = None
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()

    def _on_message(self, message: dict[str, Any]) -> None:
        try:
            channel = message["channel"]
            name = channel.decode() if isinstance(channel, bytes) else str(channel)
            session_id = int(name.rsplit(":", 1)[1])
            body = json.loads(message["data"])
            at = body.get("at")
            event = Numbered(session_id, int(body["seq"]), str(body["name"]), body["data"])
            self.receive(replace(event, committed_at=float(at) if at is not None else None))
        except (KeyError, ValueError, TypeError, IndexError):
            log.exception("a room feed message that is not one")

    async def _check_forever(self) -> None:
        checks = 0
        while True:
            await asyncio.sleep(CHECK_EVERY)
            checks += 1
            try:
                await self._check()
                if checks % SWEEP_EVERY == 0:
                    await self._let_go()
            except Exception:
                log.exception("checking the rooms' numbers failed")

    async def _check(self) -> None:
        """Read back what each room committed beyond what this process delivered."""
        if not self.rooms:
            return
        async with self.db() as db:
            numbers = await feed.current_of(db, list(self.rooms))
        for session_id, number in numbers.items():
            room = self.rooms.get(session_id)
            if room is not None and number > room.delivered and not room.filling.locked():
                self._start(self._fill(room, number))

    async def _let_go(self) -> None:
        """Stop following rooms nobody here is in."""
        manager = self.manager
        idle = [
            r for r in self.rooms.values() if not manager.has_members(r.channel) and not r.entering
        ]
        for room in idle:
            del self.rooms[room.session_id]
        if idle and self._pubsub is not None and self.subscribed.is_set():
            assert self.redis is not None
            with contextlib.suppress(RedisError, OSError):
                await self._pubsub.unsubscribe(*(channel(self.redis, r.session_id) for r in idle))

    def _start(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("room feed step failed", exc_info=task.exception())
