"""Stages carried by a separate media worker process, with two app processes in front.

A speaker signals through app process A, a viewer through app process B; the media
worker the budget assigned the room holds both peer connections and forwards the frames.
It tells the room what changed through Socket.IO's Redis channel, so clients on both app
processes hear it. When no worker listens, the stage is ``stage.unavailable`` and the
rest of the room goes on. When the room's worker is full, the next viewer is seated on
another worker, which relays the stage from the first.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from redis.asyncio import Redis
from sqlalchemy import select

from sidestage.platform.access.models import Role, RoleGrant
from sidestage.platform.accounts.models import Account
from sidestage.platform.db import create_engine, session_factory, transaction
from sidestage.realtime.media_budget import COST, Seat
from tests.conftest import REDIS_URL
from tests.helpers import bearer
from tests.live import Client, ServerProcess, fresh_demo
from tests.stage_peers import Speaker, Tone, Watcher, closing
from tests.test_interpretation import CHANNEL, FLOOR, hears, listen

pytestmark = [pytest.mark.media, pytest.mark.processes]

SEPARATE = {"SIDESTAGE_MEDIA_WORKERS": "separate", "SIDESTAGE_RECORD_STAGE": "1"}


@pytest.fixture
def backend() -> str:
    return "postgresql"  # several processes share a real database server


@dataclass
class Deployment:
    database_url: str
    a: ServerProcess
    b: ServerProcess
    worker: ServerProcess
    room: int

    async def person(self, name: str, role: Role | None = None) -> str:
        """A guest's token; with ``role``, granted for this room (or everywhere: organizer)."""
        url = f"{self.a.url}/api/auth/guest"
        async with aiohttp.ClientSession() as http, http.post(url, json={"name": name}) as answer:
            token = str((await answer.json())["token"])
        if role is not None:
            engine = create_engine(self.database_url)
            async with transaction(session_factory(engine)) as db:
                account = await db.scalar(select(Account).order_by(Account.id.desc()).limit(1))
                assert account is not None
                session_id = None if role == Role.ORGANIZER else self.room
                db.add(RoleGrant(account_id=account.id, role=role, session_id=session_id))
            await engine.dispose()
        return token

    async def account_id(self, token: str) -> int:
        url = f"{self.a.url}/api/me"
        async with aiohttp.ClientSession() as http, http.get(url, headers=bearer(token)) as me:
            return int((await me.json())["id"])

    async def enter(self, server: ServerProcess, token: str) -> Client:
        client = await Client(server.url, token).connect()
        await client.ok("room.enter", {"session_id": self.room})
        return client


@pytest.fixture
async def deployment(database_url: str, tmp_path: Path) -> AsyncIterator[Deployment]:
    room = await fresh_demo(database_url, REDIS_URL)  # and an empty Redis database
    processes = [
        ServerProcess(database_url, REDIS_URL, str(tmp_path / name), env=SEPARATE)
        for name in ("a", "b")
    ]
    worker = ServerProcess(
        database_url,
        REDIS_URL,
        str(tmp_path / "media"),
        command=("media-worker", "--processes", "1"),
        env=SEPARATE,
    )
    processes.append(worker)
    try:
        await asyncio.to_thread(worker.wait_logged, "ready")
        for app in processes[:2]:
            await asyncio.to_thread(app.wait_ready)
        yield Deployment(database_url, processes[0], processes[1], worker, room)
    finally:
        for process in processes:
            process.stop()
        for process in processes:
            print(process.log_errors())


async def test_a_worker_carries_the_stage_for_two_app_processes(deployment: Deployment) -> None:
    room = deployment.room
    host = await deployment.enter(deployment.a, await deployment.person("Host", Role.ORGANIZER))
    token = await deployment.person("Speaker", Role.SPEAKER)
    on_stage = await deployment.enter(deployment.a, token)
    viewer = await deployment.enter(deployment.b, await deployment.person("Viewer"))
    speaker_id = await deployment.account_id(token)
    await host.ok("stage.put_on", {"session_id": room, "account_id": speaker_id})

    speaker, watcher = Speaker(on_stage, room), Watcher(viewer, room)
    async with closing(speaker, watcher):
        await speaker.accept(await speaker.publish())
        # The worker announced it: the viewer, on the other app process, hears it.
        changed = await viewer.wait_for(
            "stage.changed",
            lambda s: any(p["id"] == speaker.publication_id for p in s["publications"]),
        )
        assert changed["recording"] is True
        # Entering the room reads the stage the worker keeps in Redis.
        state = await viewer.ok("room.enter", {"session_id": room})
        assert [p["id"] for p in state["stage"]["publications"]] == [speaker.publication_id]

        # A worker's refusal crosses back to the app process as it was made.
        missing = await viewer.call(
            "stage.watch", {"session_id": room, "publication_id": "0" * 32, "audio_only": False}
        )
        assert missing["error"]["code"] == "stage.not_found", missing
        offered = await watcher.watch(speaker.publication_id)
        assert offered["ok"], offered
        await watcher.frames("video", 30)
        await watcher.frames("audio", 20)

        # The speaker's connection ends: every worker hears of it, the stage empties.
        await on_stage.close()
        await viewer.wait_for("stage.changed", lambda s: s["publications"] == [])

    for client in (host, viewer):
        await client.close()


async def test_without_a_worker_the_stage_is_unavailable_and_the_room_goes_on(
    deployment: Deployment,
) -> None:
    room = deployment.room
    host = await deployment.enter(deployment.a, await deployment.person("Host", Role.ORGANIZER))
    token = await deployment.person("Speaker", Role.SPEAKER)
    on_stage = await deployment.enter(deployment.b, token)
    speaker_id = await deployment.account_id(token)
    await host.ok("stage.put_on", {"session_id": room, "account_id": speaker_id})
    deployment.worker.crash()  # its budget entry outlives it until the heartbeat expires

    speaker = Speaker(on_stage, room)
    async with closing(speaker):
        refused = await speaker.publish()
    assert refused["ok"] is False
    assert refused["error"]["code"] == "stage.unavailable"
    assert refused["error"]["details"] == {"instead": ["stream"]}
    sent = await on_stage.ok("chat.send", {"session_id": room, "text": "still here"})
    await host.wait_for("chat.posted", lambda m: m["id"] == sent["id"])
    for client in (host, on_stage):
        await client.close()


@pytest.fixture
async def small_workers(database_url: str, tmp_path: Path) -> AsyncIterator[Deployment]:
    """One app process and two media workers with room for one video viewer each."""
    room = await fresh_demo(database_url, REDIS_URL)
    small = {**SEPARATE, "SIDESTAGE_MEDIA_CAPACITY": str(COST[Seat.VIDEO])}
    app = ServerProcess(database_url, REDIS_URL, str(tmp_path / "app"), env=small)
    workers = ServerProcess(
        database_url,
        REDIS_URL,
        str(tmp_path / "media"),
        command=("media-worker", "--processes", "2"),
        env=small,
    )
    try:
        await asyncio.to_thread(workers.wait_logged, "ready", 2)
        await asyncio.to_thread(app.wait_ready)
        yield Deployment(database_url, app, app, workers, room)
    finally:
        for process in (app, workers):
            process.stop()
            print(process.log_errors())


async def test_a_room_past_its_workers_budget_is_relayed_by_another_worker(
    small_workers: Deployment,
) -> None:
    deployment, room = small_workers, small_workers.room
    redis = Redis.from_url(REDIS_URL)
    host = await deployment.enter(deployment.a, await deployment.person("Host", Role.ORGANIZER))
    token = await deployment.person("Speaker", Role.SPEAKER)
    on_stage = await deployment.enter(deployment.a, token)
    await host.ok(
        "stage.put_on", {"session_id": room, "account_id": await deployment.account_id(token)}
    )
    viewers = [
        await deployment.enter(deployment.a, await deployment.person(f"V{n}")) for n in range(3)
    ]
    interpreting = await deployment.enter(
        deployment.b, await deployment.person("Interpreter", Role.INTERPRETER)
    )
    speaker = Speaker(on_stage, room)
    interpreter = Speaker(interpreting, room)
    watchers = [Watcher(v, room) for v in viewers]
    try:
        async with closing(speaker, interpreter, *watchers):
            await speaker.accept(await speaker.publish(Tone(FLOOR)))
            seats = []
            for watcher in watchers[:2]:
                offered = await watcher.watch(speaker.publication_id)
                assert offered["ok"], offered
                seat = f"sidestage:media:seat:{room}:{offered['data']['watch_id']}"
                seats.append((await redis.get(seat)).decode().split(" ")[0])
            origin = (await redis.get(f"sidestage:media:room:{room}")).decode()
            assert seats[0] == origin and seats[1] != origin  # the second is on the edge
            for watcher in watchers[:2]:
                await watcher.frames("video", 30)
                await watcher.frames("audio", 20)

            # An interpreter's channel lives on the origin; the edge's listener hears it
            # relayed from there, on the sound of the same watch.
            languages = (await interpreting.ok("room.enter", {"session_id": room}))["languages"]
            language = languages["interpretation"][0]
            await interpreter.accept(
                await interpreter.publish(Tone(CHANNEL), video=False, language=language)
            )
            on_air = await listen(watchers[1], language)
            assert on_air == {"language": language, "on_air": True}
            await hears(watchers[1], CHANNEL, within=5)
            await hears(watchers[0], FLOOR, within=5)  # the origin's viewer: the floor still

            refused = await watchers[2].watch(speaker.publication_id)  # both workers are full
            assert refused["error"]["code"] == "stage.full", refused
            assert refused["error"]["details"] == {"instead": ["audio", "stream"]}

            # The edge's viewer leaves through the app, which routes it to the edge.
            edge_watch = watchers[1]
            await viewers[1].ok(
                "stage.leave", {"session_id": room, "watch_id": edge_watch.watch_id}
            )
            assert int(await redis.hget(f"sidestage:media:worker:{seats[1]}", "used")) == 0
            now_seated = await watchers[2].watch(speaker.publication_id)
            assert now_seated["ok"], now_seated
            await watchers[2].frames("video", 10)
    finally:
        for client in (host, on_stage, interpreting, *viewers):
            await client.close()
        await redis.aclose()


async def test_one_worker_per_process_and_all_stop_on_sigterm(
    database_url: str, tmp_path: Path
) -> None:
    redis = Redis.from_url(REDIS_URL)
    await redis.flushdb()
    workers = ServerProcess(
        database_url,
        REDIS_URL,
        str(tmp_path),
        command=("media-worker", "--processes", "2"),
        env=SEPARATE,
    )
    try:
        await asyncio.to_thread(workers.wait_logged, "ready", 2)
        assert await redis.scard("sidestage:media:workers") == 2  # each announced its budget
        workers.process.terminate()  # the parent passes it on to every worker
        assert await asyncio.to_thread(workers.process.wait, 30) == 0
        assert "Traceback" not in workers.log_errors()  # both stopped cleanly
    finally:
        workers.stop()
        await redis.aclose()
