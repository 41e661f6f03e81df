"""One policy for every fast path on another library's private code (platform/fast_paths.py):
checked once, logged once when it falls back, the stock step run instead; the switch turns
every speed-up off; an aiortc that moved takes down the stage alone.

The libraries here are really changed (a private name deleted from its class for the test),
not the checks: what a test sees is what an upgrade that dropped that name would give.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

import pytest
import socketio
from aiortc import RTCRtpReceiver
from sqlalchemy import text

from sidestage.cli import FAST_PATHS, main
from sidestage.platform import fast_paths
from sidestage.platform.accel import SQLITE_ONE_TRIP
from sidestage.platform.accel.sqlite_driver import OneTripDBAPI
from sidestage.platform.access.models import Role
from sidestage.platform.db import create_engine
from sidestage.realtime.accel import BOUNDED_POSTS, BROADCASTS
from sidestage.realtime.channels import StockManager
from sidestage.realtime.media.accel import ENCODED_FRAMES, RTP_WRITER
from sidestage.realtime.server import REALTIME
from tests.helpers import bearer
from tests.rooms_world import World, make_world

# What these tests check is the detection, which the switch skips: with it off, they would
# only see the switch's decision.
detecting = pytest.mark.skipif(fast_paths.switched_off(), reason="SIDESTAGE_FAST_PATHS=off")


@pytest.fixture(autouse=True)
def decide_afresh() -> Iterator[None]:
    """Decisions are kept per process: each test here decides anew, and leaves none of its
    own behind for the tests that run after it in this process."""
    fast_paths.forget()
    yield
    fast_paths.forget()


@detecting
def test_every_fast_path_runs_on_the_pinned_libraries(capsys: pytest.CaptureFixture[str]) -> None:
    """What `make test-upstream` asks of newer releases: ``sidestage fast-paths`` says
    which fell back, and exits 1 if any did."""
    assert main(["fast-paths"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"{name}: on" for name in FAST_PATHS]


def test_the_switch_turns_off_every_speed_up_and_keeps_what_has_no_stock_step(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(fast_paths.SWITCH, "off")
    caplog.set_level(logging.INFO, logger=fast_paths.log.name)
    running = {name for name, path in FAST_PATHS.items() if fast_paths.runs(path)}
    assert running == {BOUNDED_POSTS.name, ENCODED_FRAMES.name}  # the needed ones
    for path in FAST_PATHS.values():
        fast_paths.runs(path)  # asked again: decided already, not logged again
    logged = [r for r in caplog.records if r.name == fast_paths.log.name]
    assert len(logged) == len(FAST_PATHS) - 2
    assert all(
        r.levelno == logging.INFO and "SIDESTAGE_FAST_PATHS=off" in r.message for r in logged
    )


@detecting
def test_a_moved_private_name_falls_back_once_with_a_warning_that_names_it(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delattr(socketio.AsyncRedisManager, "_redis_listen_with_retries")
    assert not fast_paths.runs(BROADCASTS)
    assert not fast_paths.runs(BROADCASTS)
    (warning,) = [r for r in caplog.records if r.name == fast_paths.log.name]
    assert warning.levelno == logging.WARNING
    assert "realtime.broadcasts" in warning.message
    assert "AsyncRedisManager._redis_listen_with_retries" in warning.message
    assert "python-socketio's managers" in warning.message  # what runs instead
    assert main(["fast-paths"]) == 1


async def test_sqlite_takes_sqlalchemys_own_adapter_when_aiosqlite_moved(
    monkeypatch: pytest.MonkeyPatch, tmp_path: pytest.TempPathFactory
) -> None:
    import aiosqlite

    monkeypatch.delattr(aiosqlite.Connection, "_execute")
    assert not fast_paths.runs(SQLITE_ONE_TRIP)
    monkeypatch.undo()  # aiosqlite itself needs it; the decision is made and kept
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/fallback.db")
    try:
        assert not isinstance(engine.dialect.dbapi, OneTripDBAPI)
        async with engine.connect() as connection:
            assert await connection.scalar(text("SELECT 41 + 1")) == 42
    finally:
        await engine.dispose()


@pytest.fixture
def python_socketio_moved(monkeypatch: pytest.MonkeyPatch) -> None:
    """A python-socketio whose Redis manager lost a step only the fast path overrides (the
    embedded default, used here, has no Redis manager)."""
    monkeypatch.delattr(socketio.AsyncRedisManager, "_redis_listen_with_retries")


@pytest.fixture
def aiortc_moved(monkeypatch: pytest.MonkeyPatch) -> None:
    """An aiortc whose receiver no longer has the step the encoded frames come out of."""
    monkeypatch.delattr(RTCRtpReceiver, "_handle_rtp_packet")


@pytest.fixture
async def stock_world(python_socketio_moved, client, db) -> AsyncIterator[World]:  # type: ignore[no-untyped-def]
    built = await make_world(client, db)
    yield built
    await built.close()


@pytest.fixture
async def stageless_world(aiortc_moved, client, db) -> AsyncIterator[World]:  # type: ignore[no-untyped-def]
    built = await make_world(client, db)
    yield built
    await built.close()


async def _chat_reaches_everyone(world: World) -> None:
    room = {"session_id": world.public.id}
    people = [await world.guest(f"Person {n}") for n in range(3)]
    for person in people:
        await person.ok("room.enter", room)
    sent = await people[0].ok("chat.send", {**room, "text": "still here"})
    for person in people:
        posted = await person.wait_for("chat.posted", lambda data: data["id"] == sent["id"])
        assert posted["text"] == "still here"


async def test_rooms_run_on_python_socketios_own_managers_when_it_moved(
    stock_world: World,
) -> None:
    realtime = stock_world.http.server.app[REALTIME]
    assert isinstance(realtime.fanout, StockManager)
    await _chat_reaches_everyone(stock_world)
    stats = realtime.fanout.stats
    assert stats.direct == 0 and stats.stock >= 3


async def test_when_aiortc_moved_only_the_stage_is_unavailable(stageless_world: World) -> None:
    assert not fast_paths.runs(ENCODED_FRAMES)
    # The writer's own names are all there: only what it writes is not.
    assert fast_paths.runs(RTP_WRITER) is not fast_paths.switched_off()
    world = stageless_world
    await _chat_reaches_everyone(world)
    host = await world.with_role(Role.MODERATOR, session_id=world.public.id)
    speaker = await world.with_role(Role.SPEAKER, session_id=world.public.id)
    for person in (host, speaker):
        await person.ok("room.enter", {"session_id": world.public.id})
    speaker_id = (await (await world.http.get("/api/me", headers=bearer(speaker.token))).json())[
        "id"
    ]
    await host.ok("stage.put_on", {"session_id": world.public.id, "account_id": speaker_id})
    sound = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"  # never read: no stage to take it
    refused = await speaker.call(
        "stage.publish", {"session_id": world.public.id, "source": "camera", "sdp": sound}
    )
    assert refused["error"]["code"] == "stage.unavailable"
    assert refused["error"]["details"]["instead"] == ["stream"]
