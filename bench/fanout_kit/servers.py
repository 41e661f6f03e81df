"""The three servers under test, each in its own process, and their CPU time.

- ``node``: ``node/server.js`` (socket.io 4.8, installed from its lock file);
- ``raw``: ``raw_server.py``;
- ``sidestage``: ``sidestage serve`` on the embedded default (SQLite, one process), with
  the demo program loaded and guest accounts made directly in its database;
- the Sidestage cluster: two ``sidestage serve`` processes sharing PostgreSQL and Redis
  (a database and a Redis database of the bench's own, emptied first), the production
  shape on this machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from bench_common.children import BenchError
from bench_common.cores import pin_server
from redis.asyncio import Redis
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sidestage.platform.access.models import Role, RoleGrant
from sidestage.platform.accounts import service as accounts
from sidestage.platform.db import create_engine, session_factory, transaction
from sidestage.platform.program.models import Room, Session, Visibility
from sidestage.rooms.feed import service as feed

KIT = Path(__file__).resolve().parent
TICKS = os.sysconf("SC_CLK_TCK")
READY_WITHIN = 60.0
POSTGRES = os.environ.get("SIDESTAGE_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
REDIS = os.environ.get("SIDESTAGE_BENCH_REDIS", "redis://127.0.0.1:6379/13")
CLUSTER_DATABASE = "sidestage_bench"
HELD_UP = re.compile(r"event loop held up for (\d+) ms")


@dataclass
class Server:
    name: str
    process: asyncio.subprocess.Process
    port: int
    room: int = 1
    tokens: list[str] = field(default_factory=list)
    log: Path | None = None  # Sidestage's: where it logs, held-up event loops included

    def log_size(self) -> int:
        return self.log.stat().st_size if self.log is not None and self.log.exists() else 0

    def logged_errors(self, most: int = 6000) -> str:
        """The end of what the server logged from its first error on, if it logged one:
        printed when a phase fails, before the bench's working directory is removed."""
        if self.log is None or not self.log.exists():
            return ""
        text = self.log.read_text(errors="replace")
        first = min(
            (at for at in (text.find("Traceback"), text.find(" ERROR ")) if at >= 0), default=-1
        )
        return "" if first < 0 else text[first:][-most:]

    def logged_warnings(self, most: int = 20) -> list[str]:
        """The first ``most`` warnings the server logged, but for its event loop held up
        (counted under the latency lines): a message the room feed lost may have left only
        a warning behind."""
        if self.log is None or not self.log.exists():
            return []
        with self.log.open(errors="replace") as lines:
            found = (line.rstrip() for line in lines if " WARNING " in line)
            return [line for line in found if not HELD_UP.search(line)][:most]

    def held_up_since(self, offset: int) -> list[float]:
        """Milliseconds of each time the server logged its event loop held up since
        ``offset`` in its log (see ``sidestage/platform/loop_watch.py``)."""
        if self.log is None:
            return []
        with self.log.open("rb") as lines:
            lines.seek(offset)
            found = HELD_UP.findall(lines.read().decode(errors="replace"))
        return [float(ms) for ms in found]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cpu(self) -> float:
        """Seconds of CPU the server process has used (user + system)."""
        return sum(self.cpu_split())

    def cpu_split(self) -> tuple[float, float]:
        """Seconds of CPU the server process has used in user space, and in the kernel on
        its behalf (system: its sends, and on loopback the receiving half of each)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) / TICKS, int(fields[12]) / TICKS

    def memory(self) -> int:
        """Bytes of resident memory of the server process now."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise BenchError(f"no VmRSS for the {self.name} server")

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _listening(server: Server) -> Server:
    deadline = time.monotonic() + READY_WITHIN
    while True:
        if server.process.returncode is not None:
            raise BenchError(f"the {server.name} server exited ({server.process.returncode})")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", server.port)
        except OSError:
            if time.monotonic() > deadline:
                raise BenchError(f"the {server.name} server did not start") from None
            await asyncio.sleep(0.1)  # polling a starting process: no event to wait on
            continue
        writer.close()
        return server


async def start(name: str, participants: int, workdir: Path) -> Server:
    """One server under test, on the server's core (``bench_common.cores``), threads and all."""
    port = free_port()
    if name == "node":
        await asyncio.to_thread(_npm_ci)
        command = ["node", str(KIT / "node" / "server.js"), str(port)]
        server = Server(name, await _spawn(command, workdir / "node.log", pinned=True), port)
        server.tokens = ["-"] * participants
    elif name == "raw":
        command = [sys.executable, str(KIT / "raw_server.py"), str(port)]
        server = Server(name, await _spawn(command, workdir / "raw.log", pinned=True), port)
        server.tokens = ["-"] * participants
    else:
        server = await _start_sidestage(port, participants, workdir / "sidestage")
    return await _listening(server)


async def _spawn(
    command: list[str], log: Path, env: dict[str, str] | None = None, pinned: bool = False
) -> Any:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as sink:
        return await asyncio.create_subprocess_exec(
            *command,
            stdout=sink,
            stderr=sink,
            env={**os.environ, **(env or {})},
            preexec_fn=pin_server if pinned else None,
        )


def _npm_ci() -> None:
    if not (KIT / "node" / "node_modules" / "socket.io").is_dir():
        subprocess.run(
            ["npm", "ci", "--prefix", str(KIT / "node"), "--no-audit", "--no-fund"],
            check=True,
            stdout=subprocess.DEVNULL,
        )


async def _start_sidestage(port: int, participants: int, data_dir: Path) -> Server:
    env = {
        "SIDESTAGE_DATA_DIR": str(data_dir),
        "SIDESTAGE_PORT": str(port),
        "SIDESTAGE_SECRET": "b" * 40,
        "SIDESTAGE_RECORD_STAGE": "0",
    }
    for setup in (["migrate"], ["demo"]):
        await _sidestage_command(setup, env)
    database_url = f"sqlite+aiosqlite:///{data_dir / 'sidestage.db'}"
    room, tokens = await _guests(database_url, participants)
    await _organizer(database_url, tokens[-1])  # the one who runs the polls
    command = [sys.executable, "-m", "sidestage.cli", "serve"]
    process = await _spawn(command, data_dir / "server.log", env, pinned=True)
    return Server("sidestage", process, port, room, tokens, data_dir / "server.log")


@dataclass
class Cluster:
    """Sidestage as deployed: processes sharing one database and one Redis."""

    servers: list[Server]
    rooms: list[int]
    tokens: list[str]
    moderator: str  # an organizer's token: moderates every room
    database_url: str
    speakers: list[str] = field(default_factory=list)  # with ``speakers``: one per room

    @property
    def urls(self) -> list[str]:
        return [server.url for server in self.servers]

    async def stop(self) -> None:
        await asyncio.gather(*(server.stop() for server in self.servers))


async def start_cluster(
    processes: int, participants: int, rooms: int, workdir: Path, speakers: bool = False
) -> Cluster:
    """With ``speakers``, each room also has a speaker of its own (``_speakers``)."""
    database_url = await _empty_database()
    redis = Redis.from_url(REDIS)
    await redis.flushdb()
    await redis.aclose()
    env = {
        "SIDESTAGE_DATABASE_URL": database_url,
        "SIDESTAGE_REDIS_URL": REDIS,
        "SIDESTAGE_SECRET": "c" * 40,
        "SIDESTAGE_RECORD_STAGE": "0",
    }
    for setup in (["migrate"], ["demo"]):
        await _sidestage_command(setup, {**env, "SIDESTAGE_DATA_DIR": str(workdir / "cluster")})
    room_ids = await _public_rooms(database_url, rooms)
    _, tokens = await _guests(database_url, participants + 1 + (rooms if speakers else 0))
    moderator = await _organizer(database_url, tokens.pop())
    speaking = await _speakers(database_url, tokens, room_ids) if speakers else []
    servers = []
    for number in range(processes):
        port, data_dir = free_port(), workdir / f"cluster-{number}"
        process_env = {**env, "SIDESTAGE_PORT": str(port), "SIDESTAGE_DATA_DIR": str(data_dir)}
        command = [sys.executable, "-m", "sidestage.cli", "serve"]
        log = data_dir / "server.log"
        process = await _spawn(command, log, process_env)
        server = Server(f"sidestage x{processes}", process, port, log=log)
        servers.append(await _listening(server))
    return Cluster(servers, room_ids, tokens, moderator, database_url, speaking)


async def _speakers(database_url: str, tokens: list[str], rooms: list[int]) -> list[str]:
    """Takes one of ``tokens`` per room and makes it the room's speaker, and its moderator
    too: chat's rate limit (5 messages in 10 s) holds for participants, not moderators. Done
    before the servers start, so none has read these accounts yet."""
    speaking = [tokens.pop() for _ in rooms]
    roles = (Role.SPEAKER, Role.MODERATOR)
    grants = [(t, role, room) for t, room in zip(speaking, rooms, strict=True) for role in roles]
    await grant(database_url, grants)
    return speaking


async def _empty_database() -> str:
    admin = await asyncpg.connect(f"{POSTGRES}/postgres")
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {CLUSTER_DATABASE} WITH (FORCE)")
        await admin.execute(f"CREATE DATABASE {CLUSTER_DATABASE}")
    finally:
        await admin.close()
    return f"{POSTGRES.replace('postgresql://', 'postgresql+asyncpg://')}/{CLUSTER_DATABASE}"


async def _sidestage_command(arguments: list[str], env: dict[str, str]) -> None:
    await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "sidestage.cli", *arguments],
        env={**os.environ, **env},
        check=True,
        stdout=subprocess.DEVNULL,
    )


async def _public_rooms(database_url: str, count: int) -> list[int]:
    """``count`` of the demo's online sessions, opened to guests (the bench's own copy)."""
    async with _database(database_url) as db:
        ids = list(
            await db.scalars(
                select(Session.id)
                .join(Room, Room.id == Session.room_id)
                .where(Room.type == "online")
                .order_by(Session.id)
                .limit(count)
            )
        )
        await db.execute(
            update(Session).where(Session.id.in_(ids)).values(visibility=Visibility.PUBLIC)
        )
    if len(ids) < count:
        raise BenchError(f"the demo program has {len(ids)} online sessions, not {count}")
    return ids


async def _organizer(database_url: str, token: str) -> str:
    """Makes the account of ``token`` an organizer (the last guest: guests hold no other
    role, but the bench needs no registration for this one)."""
    await grant(database_url, [(token, Role.ORGANIZER, None)])
    return token


async def grant(database_url: str, grants: list[tuple[str, Role, int | None]]) -> None:
    """Gives each token's account its role, in one session or (None) in all of them."""
    async with _database(database_url) as db:
        for token, role, session_id in grants:
            account = await accounts.find_token_account(db, token)
            assert account is not None
            db.add(RoleGrant(account_id=account.id, role=role, session_id=session_id))


async def _guests(database_url: str, count: int) -> tuple[int, list[str]]:
    """The demo's public side event, and ``count`` guests' tokens, made in its database."""
    async with _database(database_url) as db:
        room = await db.scalar(
            select(Session.id)
            .where(Session.visibility == "public", Session.kind == "side_event")
            .limit(1)
        )
        tokens = []
        for number in range(count):
            guest = await accounts.create_guest(db, f"Participant {number}")
            tokens.append(await accounts.issue_token(db, guest))
    if room is None:
        raise BenchError("the demo program has no public side event")
    return int(room), tokens


async def room_feed(
    database_url: str, rooms: list[int], name: str
) -> dict[int, list[tuple[int, int]]]:
    """Each room's events called ``name`` as the database holds them: their number, and
    the id in their data (a chat message's)."""
    async with _database(database_url) as db:
        numbered = {room: await feed.after(db, room, 0) for room in rooms}
    return {
        room: [(e.seq, int(e.data["id"])) for e in events if e.name == name]
        for room, events in numbered.items()
    }


@contextlib.asynccontextmanager
async def _database(database_url: str) -> AsyncIterator[AsyncSession]:
    """One transaction in the bench's copy of the database, on an engine of its own: the
    bench reads and writes there only between phases."""
    engine = create_engine(database_url)
    try:
        async with transaction(session_factory(engine)) as db:
            yield db
    finally:
        await engine.dispose()
