"""Real Socket.IO clients against real servers, in this process or in separate ones."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import socketio

WAIT = 10.0


class Client:
    """A standard python-socketio client that remembers every event it receives."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token
        self.sio = socketio.AsyncClient(reconnection=False)
        self.received: dict[str, list[Any]] = defaultdict(list)
        self._arrival = asyncio.Condition()
        self.sio.on("*", self._record)

    async def _record(self, event: str, data: Any = None) -> None:
        async with self._arrival:
            self.received[event].append(data)
            self._arrival.notify_all()

    async def connect(self) -> Client:
        await self.sio.connect(
            self.url, auth={"token": self.token}, transports=["websocket"], wait_timeout=WAIT
        )
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
        await self.sio.disconnect()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServerProcess:
    """``sidestage serve`` in its own process, as production runs it."""

    def __init__(self, database_url: str, redis_url: str | None, data_dir: str) -> None:
        self.port = free_port()
        env = {
            **os.environ,
            "SIDESTAGE_DATABASE_URL": database_url,
            "SIDESTAGE_DATA_DIR": data_dir,
            "SIDESTAGE_PORT": str(self.port),
            "SIDESTAGE_SECRET": "s" * 40,
        }
        if redis_url:
            env["SIDESTAGE_REDIS_URL"] = redis_url
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sidestage.cli", "serve"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1):
                    return
            except OSError:
                time.sleep(0.1)  # polling a starting process; no event to wait on
        raise TimeoutError("server did not start")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def crash(self) -> None:
        self.process.kill()
        self.process.wait(20)
