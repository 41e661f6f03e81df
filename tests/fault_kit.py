"""Services of a test's own, to break on purpose: a PostgreSQL cluster and a redis-server
on free ports, never the machine's shared ones, with stop, start, freeze (SIGSTOP), thaw
(SIGCONT) and kill. Each is a context manager that removes what it started, even when the
test fails; a frozen service is thawed before it is stopped.

As root, PostgreSQL refuses to run: its commands then run as the ``postgres`` user, in a
folder that user owns.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import redis

from tests.live import free_port

WAIT = 30.0  # seconds for a service to start or stop


def wait_until(condition: Callable[[], bool], timeout: float = WAIT, what: str = "") -> None:
    """Look again until ``condition`` holds: for processes, which announce nothing."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what or condition}")
        time.sleep(0.05)


def accepts(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def children(pid: int) -> list[int]:
    """The direct children of ``pid``, from /proc (what ``ps --ppid`` reads)."""
    found = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            text = Path(stat).read_text()
        except OSError:
            continue  # it ended meanwhile
        # The name, in parentheses, may hold spaces: the fields after it are fixed.
        fields = text.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            found.append(int(stat.split("/")[2]))
    return found


def _signal_all(pids: list[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def _postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    if on_path is None:
        raise RuntimeError("PostgreSQL's pg_ctl is not installed (apt-get install postgresql)")
    return Path(on_path).parent


class PostgresCluster:
    """A PostgreSQL cluster of its own: ``initdb`` into a temporary folder, trust auth on
    127.0.0.1 and a free port."""

    def __init__(self) -> None:
        self.bin = _postgres_bin()
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="sidestage-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self._as: list[str] = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]

    def url(self, database: str = "postgres", driver: str = "postgresql") -> str:
        return f"{driver}://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *command: str) -> None:
        subprocess.run([*self._as, *command], check=True, capture_output=True, timeout=WAIT + 30)

    def init(self) -> None:
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
            "--no-sync",
        )  # fmt: skip

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off"
        self._run(
            str(self.bin / "pg_ctl"), "start", "-w", "-t", str(int(WAIT)), "-D", str(self.data),
            "-l", str(self.log), "-o", options,
        )  # fmt: skip

    def stop(self) -> None:
        """A fast shutdown: open connections are ended, as on a real outage or restart."""
        self._run(
            str(self.bin / "pg_ctl"), "stop", "-w", "-t", str(int(WAIT)), "-m", "fast",
            "-D", str(self.data),
        )  # fmt: skip

    @property
    def postmaster(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, IndexError, ValueError):
            return None

    def pids(self) -> list[int]:
        """The postmaster first, then its backends and helpers."""
        main = self.postmaster
        return [] if main is None else [main, *children(main)]

    def freeze(self) -> None:
        """SIGSTOP the postmaster (so it forks nothing more), then every process it started:
        connections stay open and new ones queue, and nothing answers."""
        main = self.postmaster
        assert main is not None, "the cluster is not running"
        os.kill(main, signal.SIGSTOP)
        _signal_all(children(main), signal.SIGSTOP)

    def thaw(self) -> None:
        _signal_all(self.pids(), signal.SIGCONT)

    def kill(self) -> None:
        _signal_all(self.pids(), signal.SIGKILL)
        wait_until(lambda: not accepts(self.port), what="the killed cluster to be gone")

    def remove(self) -> None:
        if self.postmaster is not None:
            self.thaw()
            with contextlib.suppress(subprocess.SubprocessError):
                self._run(
                    str(self.bin / "pg_ctl"), "stop", "-w", "-m", "immediate",
                    "-D", str(self.data),
                )  # fmt: skip
            if self.postmaster is not None:
                self.kill()
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def postgres_cluster() -> Iterator[PostgresCluster]:
    cluster = PostgresCluster()
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


class RedisServer:
    """A redis-server of its own on a free port, without persistence; ``options`` are
    added to its command line (``--replicaof``)."""

    def __init__(self, *options: str) -> None:
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="sidestage-redis-"))
        self.process: subprocess.Popen[bytes] | None = None
        self.options = options

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        executable = shutil.which("redis-server")
        if executable is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        with open(self.root / "server.log", "ab") as log:
            self.process = subprocess.Popen(
                [
                    executable, *self._config(), "--port", str(self.port), "--bind", "127.0.0.1",
                    "--save", "", "--appendonly", "no", "--dir", str(self.root), *self.options,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        wait_until(self._answers, what="redis-server to answer PING")

    def _config(self) -> list[str]:
        return []

    def _answers(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"redis-server exited with {self.process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as probe:
                probe.sendall(b"PING\r\n")
                return probe.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is None:
            return
        self.thaw()
        self.process.terminate()
        try:
            self.process.wait(WAIT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(WAIT)
        self.process = None

    def freeze(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGCONT)

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(WAIT)
            self.process = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    try:
        server.start()
        yield server
    finally:
        server.remove()


SERVICE = "sidestage"  # the name the Sentinels know the primary by


class SentinelServer(RedisServer):
    """A Sentinel watching ``primary``: quick to call it down (1 s), alone enough to
    agree (quorum 1), though a failover needs the votes of most Sentinels."""

    def __init__(self, primary: RedisServer) -> None:
        super().__init__("--sentinel")
        self.primary = primary

    def _config(self) -> list[str]:
        config = self.root / "sentinel.conf"  # Sentinel rewrites its file: one of its own
        if not config.exists():
            config.write_text(
                f"sentinel monitor {SERVICE} 127.0.0.1 {self.primary.port} 1\n"
                f"sentinel down-after-milliseconds {SERVICE} 1000\n"
                f"sentinel failover-timeout {SERVICE} 10000\n"
            )
        return [str(config)]

    def primary_port(self) -> int:
        found = redis.Redis(port=self.port, socket_timeout=2).sentinel_get_master_addr_by_name(
            SERVICE
        )
        return int(found[1])


class SentinelGroup:
    """A primary, its replica and two Sentinels, each on a free port."""

    def __init__(self) -> None:
        self.primary = RedisServer()
        self.replica = RedisServer("--replicaof", "127.0.0.1", str(self.primary.port))
        self.sentinels = [SentinelServer(self.primary) for _ in range(2)]

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{hosts}/0/{SERVICE}"

    def start(self) -> None:
        self.primary.start()
        self.replica.start()
        wait_until(self._replicating, what="the replica to follow the primary")
        for sentinel in self.sentinels:
            sentinel.start()
        wait_until(self._sentinels_know_each_other, what="the Sentinels to find each other")

    def _replicating(self) -> bool:
        info = redis.Redis(port=self.replica.port, socket_timeout=2).info("replication")
        return info.get("master_link_status") == "up"

    def _sentinels_know_each_other(self) -> bool:
        client = redis.Redis(port=self.sentinels[0].port, socket_timeout=2)
        return int(client.sentinel_master(SERVICE).get("num-other-sentinels", 0)) >= 1

    def fail_over(self) -> None:
        """Kill the primary; until the Sentinels promoted the replica."""
        self.primary.kill()
        wait_until(
            lambda: all(s.primary_port() == self.replica.port for s in self.sentinels),
            what="the Sentinels to promote the replica",
        )

    def remove(self) -> None:
        for server in (*self.sentinels, self.replica, self.primary):
            server.remove()


@contextlib.contextmanager
def sentinel_group() -> Iterator[SentinelGroup]:
    group = SentinelGroup()
    try:
        group.start()
        yield group
    finally:
        group.remove()
