"""Importing another conference's schedule file is refused, by the organizer's page, the
API and the command line alike: the running conference keeps its name, time zone and days."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from sidestage.platform.access.models import Role
from sidestage.platform.accounts.models import Account
from sidestage.platform.program.models import Conference, Session
from tests.conftest import SCHEDULES, schedule_bytes
from tests.helpers import PASSWORD, bearer, csrf_from, load_demo_program, user_with_role

pytestmark = pytest.mark.processes

OTHERS = ["pretalx-democon.json", "frab-camp2019.json"]


async def _state(db) -> list[Any]:  # type: ignore[no-untyped-def]
    """Every conference with what an import of another one would change."""
    async with db() as s:
        conferences = await s.scalars(
            select(Conference).options(selectinload(Conference.days)).order_by(Conference.id)
        )
        sessions = await s.scalar(select(func.count()).select_from(Session))
        return [
            *(
                (c.acronym, c.title, c.time_zone, c.start_date, [d.date for d in c.days])
                for c in conferences
            ),
            sessions,
        ]


async def test_the_api_refuses_another_conferences_file(client: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    await load_demo_program(db)
    organizer = await user_with_role(db, client, Role.ORGANIZER)
    before = await _state(db)
    for name in OTHERS:
        answer = await client.post(
            "/api/program/import",
            data=schedule_bytes(name),
            headers={**bearer(organizer), "Content-Type": "application/json"},
        )
        assert answer.status == 409, name
        error = (await answer.json())["error"]
        assert error["code"] == "program.other_conference"
        assert "another conference" in error["message"]
        assert error["details"]["served"]["acronym"] == before[0][0]
        assert await _state(db) == before
    own = await client.get("/api/program/export", headers=bearer(organizer))
    again = await client.post(
        "/api/program/import",
        data=await own.read(),
        headers={**bearer(organizer), "Content-Type": "application/json"},
    )
    assert again.status == 200, await again.text()  # the conference's own file still imports
    assert await _state(db) == before


async def test_the_organizers_page_says_whose_file_it_is(client: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    await load_demo_program(db)
    await user_with_role(db, client, Role.ORGANIZER)
    async with db() as s:
        email = await s.scalar(select(Account.email))
    token = await csrf_from(client, "/login")
    await client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    before = await _state(db)
    form = FormData()
    form.add_field("csrf_token", token)
    form.add_field("file", schedule_bytes("pretalx-democon.json"), filename="democon.json")
    refused = await client.post("/organizer/import", data=form)
    page = await refused.text()
    assert refused.status == 409
    assert "another conference" in page and "DemoCon (democon)" in page
    assert await _state(db) == before


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sidestage.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_the_command_line_refuses_another_conferences_file(
    database_url: str,
    db,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    env = {"SIDESTAGE_DATABASE_URL": database_url, "SIDESTAGE_DATA_DIR": str(tmp_path / "var")}
    await load_demo_program(db)
    before = await _state(db)
    refused = _cli(["import-program", str(SCHEDULES / "pretalx-democon.json")], env)
    assert refused.returncode == 3
    assert "program.other_conference" in refused.stderr and "democon" in refused.stderr
    assert await _state(db) == before
    served = {**env, "SIDESTAGE_CONFERENCE": "camp2019"}  # a deployment for the other one
    made = _cli(["import-program", str(SCHEDULES / "frab-camp2019.json")], served)
    assert made.returncode == 0, made.stderr
    after = await _state(db)
    assert after[0] == before[0] and after[1][0] == "camp2019"
    wrong = _cli(["import-program", str(SCHEDULES / "pretalx-democon.json")], served)
    assert wrong.returncode == 3 and json.loads(wrong.stderr.split("details: ")[1])
    assert await _state(db) == after
