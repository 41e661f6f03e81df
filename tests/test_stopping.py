"""``sidestage serve`` stops promptly on SIGTERM with people connected: a deployment's
rolling restart must not wait a minute per process."""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import time
from pathlib import Path

import aiohttp
import pytest
import socketio

from tests.live import ServerProcess

pytestmark = pytest.mark.processes

STOP_WITHIN = 10.0


@pytest.fixture
def server(sqlite_template: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    database = tmp_path / "sidestage.db"
    shutil.copyfile(sqlite_template, database)
    process = ServerProcess(f"sqlite+aiosqlite:///{database}", None, str(tmp_path / "var"))
    try:
        process.wait_ready()
        yield process
    finally:
        if process.process.poll() is None:
            process.crash()


async def _guest(url: str, transport: str) -> socketio.AsyncClient:
    async with aiohttp.ClientSession() as http:
        made = await http.post(f"{url}/api/auth/guest", json={"name": "Staying"})
        token = (await made.json())["token"]
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(url, auth={"token": token}, transports=[transport], wait_timeout=10)
    return client


async def test_sigterm_stops_the_server_within_ten_seconds_with_clients_connected(
    server: ServerProcess,
) -> None:
    transports = ["websocket"] * 3 + ["polling"] * 2
    clients = [await _guest(server.url, t) for t in transports]
    gone = [asyncio.Event() for _ in clients]
    for client, event in zip(clients, gone, strict=True):
        client.on("disconnect", lambda *_, e=event: e.set())
    assert all(c.connected for c in clients)
    server.process.send_signal(signal.SIGTERM)
    started = time.monotonic()
    try:
        code = await asyncio.to_thread(server.process.wait, STOP_WITHIN)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running {STOP_WITHIN} s after SIGTERM: {server.log_errors()}")
    assert code == 0, server.log_errors()
    assert time.monotonic() - started < STOP_WITHIN
    async with asyncio.timeout(STOP_WITHIN):
        for event in gone:
            await event.wait()  # every client was told, none left hanging
    for client in clients:
        await client.disconnect()
