"""The `sidestage` command, run as a user would run it."""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import SCHEDULES
from tests.live import ServerProcess

pytestmark = pytest.mark.processes


def _run(
    args: list[str], env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sidestage.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {"SIDESTAGE_DATABASE_URL": database_url, "SIDESTAGE_DATA_DIR": str(tmp_path / "var")}


def test_every_command_has_help() -> None:
    for command in (
        "serve",
        "media-worker",
        "migrate",
        "import-program",
        "export-program",
        "demo",
        "create-user",
    ):
        result = _run([command, "--help"], {})
        assert result.returncode == 0 and "usage: sidestage" in result.stdout, command


def test_import_export_demo_and_users(cli_env: dict[str, str], tmp_path: Path) -> None:
    assert _run(["migrate"], cli_env).returncode == 0
    imported = _run(["import-program", str(SCHEDULES / "pretalx-democon.json")], cli_env)
    assert imported.returncode == 0, imported.stderr
    assert "36 sessions (36 new, 0 updated)" in imported.stdout
    exported = _run(["export-program"], cli_env)
    assert exported.returncode == 0
    assert len(json.loads(exported.stdout)["schedule"]["conference"]["days"]) == 3
    ics = _run(["export-program", "--format", "ics"], cli_env)
    assert ics.stdout.startswith("BEGIN:VCALENDAR") and ics.stdout.count("BEGIN:VEVENT") == 36
    made = _run(
        [
            "create-user",
            "--email",
            "boss@example.org",
            "--password",
            "long password!",
            "--role",
            "organizer",
        ],
        cli_env,
    )
    assert made.returncode == 0, made.stderr
    again = _run(
        ["create-user", "--email", "boss@example.org", "--password", "long password!"], cli_env
    )
    assert again.returncode == 3 and "auth.email_taken" in again.stderr
    demo = _run(["demo"], cli_env)
    assert (
        demo.returncode == 0
        and "log in as organizer: organizer@demo.sidestage.invalid" in demo.stdout
    )


def test_clear_errors_and_exit_codes(cli_env: dict[str, str], tmp_path: Path) -> None:
    assert _run(["migrate"], cli_env).returncode == 0
    broken = tmp_path / "broken.json"
    document = json.loads((SCHEDULES / "pretalx-democon.json").read_text())
    document["schedule"]["conference"]["days"][1]["rooms"]["Tan Room"][1]["start"] = "9am"
    broken.write_text(json.dumps(document))
    result = _run(["import-program", str(broken)], cli_env)
    assert result.returncode == 3
    assert 'days[1].rooms["Tan Room"][1].start' in result.stderr
    missing = _run(["import-program", str(tmp_path / "nope.json")], cli_env)
    assert missing.returncode == 3 and "No such file" in missing.stderr
    assert _run(["no-such-command"], cli_env).returncode == 2
    weak = _run(["create-user", "--email", "x@example.org", "--password", "short"], cli_env)
    assert weak.returncode == 3 and "auth.weak_password" in weak.stderr
    no_redis = _run(["media-worker", "--processes", "1"], cli_env)
    assert no_redis.returncode == 4 and "SIDESTAGE_REDIS_URL" in no_redis.stderr


def test_production_refuses_the_development_secret(tmp_path: Path) -> None:
    env = {"SIDESTAGE_ENV": "production", "SIDESTAGE_DATA_DIR": str(tmp_path)}
    result = _run(["migrate"], env)
    assert result.returncode == 4 and "SIDESTAGE_SECRET" in result.stderr


def test_serve_holds_a_join_storm_while_it_is_busy(sqlite_template: Path, tmp_path: Path) -> None:
    """When a session starts, hundreds connect in the same second. With the server unable
    to accept for a moment (here: stopped), the kernel must keep them all queued: past a
    full queue it drops their SYNs, and each client would wait a second to try again."""
    database = tmp_path / "sidestage.db"
    shutil.copyfile(sqlite_template, database)
    server = ServerProcess(f"sqlite+aiosqlite:///{database}", None, str(tmp_path / "var"))
    storm = min(1000, _somaxconn() - 1)
    sockets: list[socket.socket] = []
    try:
        server.wait_ready()
        server.process.send_signal(signal.SIGSTOP)
        for _ in range(storm):
            sockets.append(socket.socket())
            sockets[-1].setblocking(False)
            sockets[-1].connect_ex(("127.0.0.1", server.port))
        assert _connected(sockets, within=30.0) == storm
    finally:
        server.process.send_signal(signal.SIGCONT)
        for opened in sockets:
            opened.close()
        server.stop()


def _somaxconn() -> int:
    return int(Path("/proc/sys/net/core/somaxconn").read_text())


def _connected(sockets: list[socket.socket], within: float) -> int:
    """How many of ``sockets`` finish connecting before ``within`` seconds pass."""
    pending = {s.fileno(): s for s in sockets}
    done = 0
    poller = select.poll()
    for fd in pending:
        poller.register(fd, select.POLLOUT)
    deadline = time.monotonic() + within
    while pending and time.monotonic() < deadline:
        for fd, _ in poller.poll(100):
            poller.unregister(fd)
            done += pending.pop(fd).getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
    return done
