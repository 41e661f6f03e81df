"""Real Socket.IO clients against real servers, in this process or in separate ones."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import socketio
from aiohttp import web
from redis.asyncio import Redis
from sqlalchemy import select

from sidestage.platform.db import create_engine, session_factory, transaction
from sidestage.platform.demo import load_demo
from sidestage.platform.program.models import Session
from sidestage.platform.settings import Settings
from sidestage.web.app import create_app

WAIT = 10.0


async def until(condition: Callable[[], bool]) -> None:
    """For what nobody announces (a client's upgrade, a server's disconnect): look again."""
    async with asyncio.timeout(WAIT):
        while True:
            if condition():
                return
            await asyncio.sleep(0.01)


class Client:
    """A standard python-socketio client that remembers every event it receives."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token
        self.sio = socketio.AsyncClient(reconnection=False)
        self.received: dict[str, list[Any]] = defaultdict(list)
        self._arrival = asyncio.Condition()
        self.sio.on("*", self._record)
        self.sio.on("connect_error", self._refused)

    async def _record(self, event: str, data: Any = None) -> None:
        async with self._arrival:
            self.received[event].append(data)
            self._arrival.notify_all()

    async def _refused(self, data: Any = None) -> None:
        await self._record("connect_error", data)

    async def connect(self) -> Client:
        try:
            await self.sio.connect(
                self.url, auth={"token": self.token}, transports=["websocket"], wait_timeout=WAIT
            )
        except BaseException:
            # A refused connect leaves the Engine.IO transport open: close it too.
            await self.sio.eio.disconnect(abort=True)
            raise
        return self

    async def call(self, command: str, payload: Any) -> dict[str, Any]:
        return dict(await self.sio.call(command, payload, timeout=WAIT))

    async def ok(self, command: str, payload: Any) -> dict[str, Any]:
        answer = await self.call(command, payload)
        assert answer["ok"], f"{command} {payload}: {answer}"
        return dict(answer["data"])

    async def wait_for(
        self, event: str, where: Callable[[Any], bool] = lambda _: True, within: float = WAIT
    ) -> Any:
        """The first (or next) event of this name that matches, waiting for it if need be."""

        async def arrived() -> Any:
            async with self._arrival:
                while True:
                    for data in self.received[event]:
                        if where(data):
                            return data
                    await self._arrival.wait()

        return await asyncio.wait_for(arrived(), within)

    async def close(self) -> None:
        if self.sio.connected and self.sio.transport() == "polling":
            # python-socketio's client waits for its pending long-poll, which engine.io
            # answers only at its next ping (20 s, the stock server does the same): a test's
            # end does not wait for it.
            await self.sio.eio.disconnect(abort=True)
            return
        await self.sio.disconnect()


async def fresh_demo(database_url: str, redis_url: str) -> int:
    """An empty Redis database and the demo program; returns its public side event's id."""
    redis = Redis.from_url(redis_url)
    await redis.flushdb()
    await redis.aclose()
    engine = create_engine(database_url)
    async with transaction(session_factory(engine)) as db:
        await load_demo(db)
        room = await db.scalar(
            select(Session.id)
            .where(Session.visibility == "public", Session.kind == "side_event")
            .limit(1)
        )
    await engine.dispose()
    assert room is not None, "the demo program has a public side event"
    return int(room)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServerProcess:
    """``sidestage serve`` (or another ``sidestage`` command) in its own process, as
    production runs it; ``env`` adds settings."""

    def __init__(
        self,
        database_url: str,
        redis_url: str | None,
        data_dir: str,
        command: tuple[str, ...] = ("serve",),
        env: dict[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        env = {
            **os.environ,
            "SIDESTAGE_DATABASE_URL": database_url,
            "SIDESTAGE_DATA_DIR": data_dir,
            "SIDESTAGE_PORT": str(self.port),
            "SIDESTAGE_SECRET": "s" * 40,
            "SIDESTAGE_GUEST_BURST": "1000000",  # tests make hundreds of guests from one place
            **(env or {}),
        }
        if redis_url:
            env["SIDESTAGE_REDIS_URL"] = redis_url
        # The log goes to a file, never a pipe: a pipe nobody reads fills up (64 KiB of
        # access lines) and then blocks the server in the middle of a test.
        os.makedirs(data_dir, exist_ok=True)
        self.log_path = os.path.join(data_dir, "server.log")
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "sidestage.cli", *command],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1):
                    return
            except OSError:
                time.sleep(0.1)  # polling a starting process; no event to wait on
        raise TimeoutError("server did not start")

    def wait_logged(self, text: str, times: int = 1, timeout: float = 60) -> None:
        """Until the process logs ``text`` (for processes that serve no HTTP)."""
        deadline = time.monotonic() + timeout
        while self._log().count(text) < times:
            if self.process.poll() is not None:
                raise RuntimeError(f"process exited: {self.log_tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"never logged {text!r}: {self.log_tail()}")
            time.sleep(0.1)  # polling a starting process; no event to wait on

    def log_tail(self, size: int = 2000) -> str:
        return self._log()[-size:]

    def log_errors(self, size: int = 6000) -> str:
        """The log's error entries and their traces, without the access lines around them."""
        lines = self._log().splitlines()
        kept = [line for line in lines if "aiohttp.access" not in line]
        return "\n".join(kept)[-size:]

    def _log(self) -> str:
        with open(self.log_path, "rb") as log:
            return log.read().decode(errors="replace")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def crash(self) -> None:
        self.process.kill()
        self.process.wait(20)


class LiveServer:
    """The real app on a real port, in a thread, so synchronous hypothesis tests can call it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        # aiohttp keeps reading a refused body for up to 10 s (lingering_time) so the
        # client sees the answer; the cleanup at the end waited for that, 10 s per test
        # that sends one. A second is enough on loopback.
        runner = web.AppRunner(create_app(self.settings), lingering_time=1.0)
        self.loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(runner.cleanup())

    def __enter__(self) -> LiveServer:
        self._thread.start()
        assert self._ready.wait(30), "the server did not start"
        return self

    def __exit__(self, *_: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(30)

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            raw = response.read()
        finally:
            connection.close()
        try:
            return response.status, json.loads(raw)
        except ValueError:
            return response.status, raw

    def run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(30)
