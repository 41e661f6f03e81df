"""The Socket.IO endpoint at /socket.io/: connecting, the commands, disconnecting.

Clients authenticate with ``auth={"token": T}`` (from /api/auth/...) or the browser's
session cookie. Every registered command becomes a Socket.IO event whose ack is
``{"ok": true, "data": ...}`` or ``{"ok": false, "error": {"code", "message"}}``.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import web
from redis.asyncio import Redis
from redis.exceptions import RedisError
from socketio.exceptions import ConnectionRefusedError as Refusal
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sidestage.platform.db import transaction
from sidestage.platform.epochs import Epochs, track
from sidestage.platform.errors import SidestageError
from sidestage.platform.metrics import Metrics
from sidestage.platform.outages import unavailable, unreachable
from sidestage.platform.ratelimit import RateLimiter
from sidestage.platform.settings import Settings
from sidestage.realtime import identities
from sidestage.realtime.accel import socket_server
from sidestage.realtime.dispatch import Dispatcher, failed
from sidestage.realtime.ice import server_configuration
from sidestage.realtime.identities import Identities
from sidestage.realtime.media.stage import StageHost
from sidestage.realtime.media_budget import MemoryMediaBudget, RedisMediaBudget
from sidestage.realtime.media_remote import RemoteStage
from sidestage.realtime.metrics import measure
from sidestage.realtime.room_feed import RoomFeed
from sidestage.realtime.stopping import close_every_connection
from sidestage.realtime.ticker import Claims, Ticker
from sidestage.realtime.transport import SocketTransport
from sidestage.rooms import handlers
from sidestage.rooms.attendance.stays import Stays
from sidestage.rooms.commands import Command, Connection
from sidestage.rooms.events import Outbox, user
from sidestage.rooms.feed import service as feed
from sidestage.rooms.feed.service import Numbered
from sidestage.rooms.polls.ballots import Ballots
from sidestage.rooms.presence import MemoryPresence, RedisPresence
from sidestage.rooms.room import config as room_config
from sidestage.rooms.room import snapshot
from sidestage.rooms.room.config import room_configs
from sidestage.rooms.room.handlers import depart, depart_all
from sidestage.rooms.room.snapshot import RoomSnapshots
from sidestage.rooms.shared import RoomServices
from sidestage.rooms.stage import service as stage_service

# Every kind of copy this process keeps between commands, by the tables it is read from.
KEPT = (*identities.KEPT, *room_config.KEPT, *snapshot.KEPT)
log = logging.getLogger("sidestage.realtime")
SESSION_COOKIE = "sidestage_session"
STOP_WITHIN = 30.0  # seconds for the ticker to finish its steps at shutdown
STAGE_HEARTBEAT = 5.0  # seconds; the budget forgets a worker after three missed beats


class Realtime:
    """One per process: the Socket.IO server and what its handlers share."""

    def __init__(self, settings: Settings, metrics: Metrics | None = None) -> None:
        self.settings = settings
        self.metrics = metrics if metrics is not None else Metrics()
        self.sio, self.fanout = socket_server(
            settings.redis_url,
            async_mode="aiohttp",
            cors_allowed_origins=None,
            ping_interval=20,
            ping_timeout=20,
            max_http_buffer_size=256 * 1024,
        )
        self.process_id = uuid.uuid4().hex
        self.transport: SocketTransport | None = None
        self.dispatcher: Dispatcher | None = None
        self.ticker: Ticker | None = None
        self.stage: StageHost | RemoteStage | None = None
        self.identities: Identities | None = None
        self.feed: RoomFeed | None = None
        self._db: async_sessionmaker[AsyncSession] | None = None

    def start(
        self, db: async_sessionmaker[AsyncSession], limiter: RateLimiter, redis: Redis | None
    ) -> None:
        self._db = db
        self.transport = SocketTransport(self.sio, redis)
        self.feed = RoomFeed(
            db,
            redis,
            self.fanout,
            self.transport.connections.__contains__,
            self.metrics.fanout_lag,
        )
        self.transport.feed = self.feed
        presence = RedisPresence(redis, self.process_id) if redis else MemoryPresence()
        self.stage = self._stage_host(redis)
        epochs = Epochs(track(db, KEPT), redis)
        self.identities = Identities(db, epochs)
        services = RoomServices(
            db,
            presence,
            limiter,
            self.transport,
            self.process_id,
            self.stage,
            epochs,
            room_configs(),
            RoomSnapshots(self.transport.delivered_after),
            Stays(db),
            Ballots(db),
        )
        self.transport.on_remove = lambda account, session: self._remove_local(
            services, account, session
        )
        self.dispatcher = Dispatcher(services, self.publish, self.metrics)
        self.ticker = Ticker(services, self.publish, Claims(redis))
        self.services = services

    async def settled(self) -> None:
        """Until this process's commits have moved the shared epochs (``Epochs.settled``):
        for answers given outside the live rooms (a role granted on a page)."""
        await self.services.epochs.settled()

    def _stage_host(self, redis: Redis | None) -> StageHost | RemoteStage:
        settings = self.settings
        if settings.media_workers == "separate":
            assert redis is not None, "settings require Redis for separate media workers"
            # Workers relay each other's stages: a room may outgrow its first worker.
            return RemoteStage(redis, RedisMediaBudget(redis, spread=True), self.process_id)
        budget = RedisMediaBudget(redis) if redis else MemoryMediaBudget()
        recordings = settings.data_dir if settings.record_stage else None
        host = StageHost(budget, server_configuration(settings), recordings)
        host.on_change = self._announce_stage
        return host

    async def _announce_stage(self, session_id: int) -> None:
        assert self._db is not None and isinstance(self.stage, StageHost)
        outbox = Outbox()
        async with transaction(self._db) as db:
            await stage_service.announce(db, self.stage, session_id, outbox)
            await feed.record(db, outbox)
        await self.publish(outbox)

    async def stage_heartbeat(self) -> None:
        """This process carries stages: it renews its budget until it stops."""
        assert self.stage is not None
        if isinstance(self.stage, RemoteStage):
            return  # media workers carry the stages and renew their own budgets
        while True:
            try:
                await self.stage.budget.heartbeat(self.process_id, self.settings.media_capacity)
            except (RedisError, OSError):
                # A Redis blip must not end the renewals: they resume on the next beat.
                log.exception("renewing the stage budget failed")
            await asyncio.sleep(STAGE_HEARTBEAT)

    async def publish(self, outbox: Outbox) -> None:
        """After the commit: room events through the room feed (numbered by
        ``feed.record`` in the transaction), the others as they are."""
        numbered = []
        for event in outbox.events:
            if event.sequenced:
                session_id = int(event.audience.key)
                seq, now = event.data["seq"], time.time()
                numbered.append(Numbered(session_id, seq, event.name, event.data, now))
            else:
                await self.sio.emit(event.name, event.data, room=event.audience.channel)
        if numbered:
            assert self.feed is not None
            await self.feed.publish(numbered)
        if outbox.dirty_polls and self.ticker is not None:
            self.ticker.polls_changed(outbox.dirty_polls)

    async def _remove_local(self, services: RoomServices, account_id: int, session_id: int) -> None:
        assert self.transport is not None
        for connection in self.transport.local(account_id):
            await depart(services, connection, session_id)

    def register(self) -> None:
        self.sio.on("connect", self.connect)
        self.sio.on("disconnect", self.disconnect)
        for command in handlers.registry.commands.values():
            self.sio.on(command.name, self._handler_for(command))
        self.sio.on("*", unknown_command)

    def _handler_for(self, command: Command) -> Callable[..., Any]:
        async def handle(sid: str, data: Any = None) -> dict[str, Any]:
            assert self.dispatcher is not None
            connection = (await self.sio.get_session(sid)).get("connection")
            if connection is None:  # a command racing the disconnect
                return {
                    "ok": False,
                    "error": {"code": "auth.sign_in_required", "message": "Connect again."},
                }
            return await self.dispatcher.run(command, connection, data)

        return handle

    async def connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        """Every refusal carries a code: the database or Redis out of reach is
        ``server.unavailable`` (come back soon), anything unexpected ``server.error``."""
        try:
            await self._admit(sid, environ, auth)
        except Refusal:
            raise
        except Exception as error:
            raise self._refusal_of(error) from None

    def _refusal_of(self, error: Exception) -> Refusal:
        service = unreachable(error)
        if service is None:
            log.exception("connecting failed")
            return _refusal("server.error", "Something went wrong on our side.")
        self.metrics.unreachable(service)
        log.warning("connecting failed: %s unreachable (%r)", service, error)
        return _refusal("server.unavailable", unavailable(service).message)

    async def _admit(self, sid: str, environ: dict[str, Any], auth: Any) -> None:
        assert self.transport is not None and self.identities is not None
        token = _token(environ, auth)
        found = await self.identities.of_token(token) if token else None
        if found is None:
            raise _refusal("auth.sign_in_required", "Sign in or join as a guest first.")
        account, identity = found
        if account.banned_at is not None:
            raise _refusal("auth.banned", "This account may no longer take part.")
        connection = Connection(
            sid=sid, account_id=account.id, name=account.display_name, identity=identity
        )
        # The state lives in the Socket.IO session; the transport keeps an index of this
        # process's connections for acting on a person's connections (removal).
        await self.sio.save_session(sid, {"connection": connection})
        self.transport.connections[sid] = connection
        await self.sio.enter_room(sid, user(account.id).channel)

    async def disconnect(self, sid: str, reason: Any = None) -> None:
        assert self.transport is not None
        connection = self.transport.connections.pop(sid, None)
        if connection is not None:
            connection.gone = True
            await depart_all(self.services, connection)
        if self.stage is not None:
            await self.stage.drop_owner(sid)


async def unknown_command(event: str, sid: str, *data: Any) -> dict[str, Any]:
    """Any event no command is registered for: acknowledged, so a client's call (a typo, a
    newer client on an older server) fails at once instead of waiting for its timeout."""
    return failed(
        SidestageError("server.unknown_command", "The server does not know this command.")
    )


def _refusal(code: str, message: str) -> Refusal:
    """The client's ``connect_error`` gets ``{"message": ..., "data": {"code", "message"}}``."""
    return Refusal(message, {"code": code, "message": message})


def _token(environ: dict[str, Any], auth: Any) -> str:
    if isinstance(auth, dict) and isinstance(auth.get("token"), str):
        return str(auth["token"])[:200]
    request = environ.get("aiohttp.request")
    return request.cookies.get(SESSION_COOKIE, "") if request is not None else ""


REALTIME = web.AppKey("realtime", Realtime)


def install(
    app: web.Application,
    settings: Settings,
    resources: Callable[[], tuple[async_sessionmaker[AsyncSession], RateLimiter, Redis | None]],
    metrics: Metrics | None = None,
) -> Realtime:
    """Attach /socket.io/ to the app; the database and Redis come from ``resources`` at start."""
    realtime = Realtime(settings, metrics)
    measure(realtime.metrics, realtime)
    realtime.sio.attach(app, socketio_path="socket.io")
    realtime.register()
    app[REALTIME] = realtime

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        realtime.start(*resources())
        assert realtime.transport is not None and realtime.ticker is not None
        assert realtime.feed is not None
        feeding = asyncio.create_task(realtime.feed.run())
        async with realtime.transport.listening():
            if isinstance(realtime.stage, RemoteStage):
                await realtime.stage.start()  # replies from media workers come in from now
            ticking = asyncio.create_task(realtime.ticker.run())
            renewing = asyncio.create_task(realtime.stage_heartbeat())
            yield
            realtime.ticker.stop()
            await asyncio.wait_for(ticking, STOP_WITHIN)
            renewing.cancel()
            assert realtime.stage is not None
            await realtime.stage.close()
            # Stops Engine.IO's own tasks (pings, monitor); the clients were closed at
            # on_shutdown (stopping.py).
            await realtime.sio.shutdown()
            feeding.cancel()
            await asyncio.gather(feeding, return_exceptions=True)
            realtime.services.epochs.close()

    app.cleanup_ctx.append(lifecycle)
    app.on_shutdown.append(lambda _: close_every_connection(realtime.sio.eio))
    return realtime
