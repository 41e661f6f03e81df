"""The `sidestage` command, run as a user would run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SCHEDULES


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
