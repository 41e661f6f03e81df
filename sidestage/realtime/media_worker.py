"""A media worker: a process that holds stages' WebRTC peers, apart from the app processes.

``sidestage media-worker`` starts one per core. Each announces its budget in Redis and
serves the requests app processes route to it (``media_link``): the room's stage is
assigned to one worker by the budget, its origin, and every publish for that room comes
here. A viewer is seated on the origin while it has room, else on the worker with the
most free units, which relays the stage from the origin (``media.relay``): each worker
serves its publications to the others on a TCP port it announces with its budget.

The origin tells the room what changed itself: it reads the lineup from the database,
numbers ``stage.changed`` in the room's feed and rings the feed's Redis channel, from
which every app process delivers it to its own connections in the room.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sidestage.platform.collector import tune_for_serving
from sidestage.platform.db import create_engine, session_factory, transaction
from sidestage.platform.errors import ConfigurationError, SidestageError
from sidestage.platform.hot_store import connect_redis
from sidestage.platform.settings import Settings
from sidestage.realtime import media_link as link
from sidestage.realtime import room_feed
from sidestage.realtime.ice import server_configuration
from sidestage.realtime.media.relay import RelayServer
from sidestage.realtime.media.stage import Relaying, StageHost
from sidestage.realtime.media_budget import RedisMediaBudget
from sidestage.rooms.events import Outbox
from sidestage.rooms.feed import service as feed
from sidestage.rooms.feed.service import Numbered
from sidestage.rooms.stage import service as stage_service

log = logging.getLogger("sidestage.media_worker")
HEARTBEAT = 5.0  # seconds; the budget forgets a worker after three missed beats


class MediaWorker:
    """One worker process: its ``StageHost``, its requests channel, its heartbeat."""

    def __init__(
        self, settings: Settings, redis: Redis, db: async_sessionmaker[AsyncSession]
    ) -> None:
        self.id = uuid.uuid4().hex
        self.settings = settings
        self._redis = redis
        self._db = db
        recordings = settings.data_dir if settings.record_stage else None
        secret = settings.secret.encode()
        self.host = StageHost(
            RedisMediaBudget(redis, spread=True),
            server_configuration(settings),
            recordings,
            Relaying(self.id, secret),
        )
        self.host.on_change = self._changed
        self._relay_server = RelayServer(self.host.relayable, secret, settings.media_relay_host)
        self._relay_address: str | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._operations: dict[str, Callable[..., Awaitable[Any]]] = {
            "publish": self.host.publish,
            "unpublish": self.host.unpublish,
            "watch": self.host.watch,
            "answer": self.host.answer,
            "leave": self.host.leave,
            "take_over": self.host.take_over,
            "listen": self.host.listen,
            "drop_account": self.host.drop_account,
            "drop_owner": self.host.drop_owner,
        }

    async def run(self, stop: asyncio.Event) -> None:
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(link.requests_channel(self.id), link.EVERY_WORKER)
        self._relay_address = await self._relay_server.start()
        await self._beat()  # known to the budget before anything is routed here
        beating = asyncio.create_task(self._heartbeats())
        listening = asyncio.create_task(self._listen(pubsub))
        log.info("media worker %s ready (capacity %s)", self.id, self.settings.media_capacity)
        try:
            await stop.wait()
        finally:
            for task in (beating, listening):
                task.cancel()
            await asyncio.gather(beating, listening, *self._tasks, return_exceptions=True)
            await pubsub.aclose()
            await self._relay_server.close()
            await self.host.close()  # ends peers and finishes the recordings

    async def _listen(self, pubsub: Any) -> None:
        async for data in link.messages(pubsub):
            task = asyncio.create_task(self._serve(data))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _serve(self, raw: bytes) -> None:
        try:
            request = json.loads(raw)
            operation = self._operations[request["op"]]
            reply_to = request.get("reply_to")
        except (ValueError, KeyError, TypeError):
            log.error("an unreadable media request was ignored: %r", raw[:200])
            return
        reply: dict[str, Any] = {"id": request.get("id")}
        try:
            reply |= {"ok": True, "result": await operation(**request["args"])}
        except SidestageError as error:
            reply |= {"ok": False, "error": link.refusal_to_wire(error)}
        except Exception:
            log.exception("media request %s failed", request["op"])
            reply |= {"ok": False, "error": None}
        if reply_to:
            await self._redis.publish(reply_to, json.dumps(reply))

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT)
            try:
                await self._beat()
            except (RedisError, OSError):
                # A Redis blip must not end the renewals: they resume on the next beat.
                log.exception("renewing the media worker's budget failed")

    async def _beat(self) -> None:
        capacity = self.settings.media_capacity
        await self.host.budget.heartbeat(self.id, capacity, self._relay_address)
        for session_id in self.host.rooms():
            await self._store_state(session_id)

    async def _store_state(self, session_id: int) -> None:
        state = {
            "publications": await self.host.publications(session_id),
            "recording": await self.host.recording(session_id),
        }
        await self._redis.set(link.state_key(session_id), json.dumps(state), ex=link.STATE_TTL)

    async def _changed(self, session_id: int) -> None:
        await self._store_state(session_id)
        outbox = Outbox()
        async with transaction(self._db) as db:
            await stage_service.announce(db, self.host, session_id, outbox)
            await feed.record(db, outbox)
        numbered = [
            Numbered(session_id, event.data["seq"], event.name, event.data, time.time())
            for event in outbox.events
        ]
        await room_feed.ring(self._redis, numbered)


async def serve_one(settings: Settings) -> None:
    """Run one worker until SIGTERM or SIGINT."""
    if not settings.redis_url:
        raise ConfigurationError("a media worker needs SIDESTAGE_REDIS_URL, shared with the app")
    engine = create_engine(settings.database_url, timeout=settings.db_timeout)
    redis = connect_redis(settings.redis_url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await MediaWorker(settings, redis, session_factory(engine)).run(stop)
    finally:
        await redis.aclose()
        await engine.dispose()


def serve(settings: Settings, processes: int) -> int:
    """``processes`` workers: one in this process, or that many children, watched."""
    if processes == 1:
        tune_for_serving()
        asyncio.run(serve_one(settings))
        return 0
    command = [sys.executable, "-m", "sidestage.cli", "media-worker", "--processes", "1"]
    children = [subprocess.Popen(command, env=os.environ.copy()) for _ in range(processes)]

    def forward(signum: int, _frame: object) -> None:
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    codes = [child.wait() for child in children]
    return max(codes, key=abs)
