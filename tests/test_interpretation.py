"""Simultaneous interpretation with aiortc peers over loopback, signalling through the real
server: the floor speaks a 440 Hz tone, an interpreter an 880 Hz one on a language's
channel. Each listener decodes the sound it receives and the strongest of the tones in it
says what it hears; switching language changes the tone within a second while the picture
keeps coming, on the same connection."""

from __future__ import annotations

import asyncio
import math
import time
from array import array
from typing import Any

import pytest
from aiortc.mediastreams import MediaStreamTrack

from sidestage.platform.access.models import Role
from sidestage.platform.db import transaction
from sidestage.platform.program.models import Session
from sidestage.platform.settings import Settings
from sidestage.realtime.media.recorder import list_recordings
from sidestage.realtime.server import REALTIME
from tests.live import Client
from tests.media_kit import TIMEOUT
from tests.rooms_world import World
from tests.stage_peers import Speaker, Tone, Watcher, closing

pytestmark = [pytest.mark.media, pytest.mark.usefixtures("loopback_ice")]

FLOOR, CHANNEL, RELIEF = 440.0, 880.0, 660.0  # Hz: the floor, an interpreter, their relief
TONES = (FLOOR, CHANNEL, RELIEF)
SWITCH_WITHIN = 1.0  # seconds from the command's answer to the new tone (issue 25)


@pytest.fixture
def backend() -> str:
    return "sqlite"  # media is the same on both databases


def _power(samples: list[int], hz: float, rate: int) -> float:
    """Goertzel: the strength of one frequency in the samples."""
    coefficient = 2 * math.cos(2 * math.pi * hz / rate)
    before = earlier = 0.0
    for sample in samples:
        before, earlier = sample + coefficient * before - earlier, before
    return before * before + earlier * earlier - coefficient * before * earlier


async def heard(track: MediaStreamTrack, frames: int = 6) -> float:
    """The tone loudest in the next ``frames`` decoded frames (20 ms each)."""
    samples: list[int] = []
    rate = 48_000
    for _ in range(frames):
        frame = await asyncio.wait_for(track.recv(), TIMEOUT)
        rate = frame.sample_rate
        values = array("h", bytes(frame.planes[0]))
        samples += values[:: len(frame.layout.channels)]  # the first channel
    return max(TONES, key=lambda hz: _power(samples, hz, rate))


async def hears(watcher: Watcher, tone: float, within: float = SWITCH_WITHIN) -> float:
    """Seconds until ``watcher`` hears ``tone`` (failing after ``within``)."""
    track = next(t for t in watcher.tracks if t.kind == "audio")
    started = time.monotonic()
    while (await heard(track, frames=3)) != tone:
        assert time.monotonic() - started < within, f"still not hearing {tone} Hz"
    return time.monotonic() - started


async def listen(watcher: Watcher, language: str | None) -> dict[str, Any]:
    payload = {"session_id": watcher.session_id, "watch_id": watcher.watch_id}
    return await watcher.client.ok("stage.listen", {**payload, "language": language})


async def publications(client: Client, session_id: int) -> list[dict[str, Any]]:
    state = await client.ok("room.enter", {"session_id": session_id})
    return list(state["stage"]["publications"])


async def test_listeners_hear_the_floor_or_a_language_and_switch_within_a_second(
    world: World, settings: Settings
) -> None:
    room = world.public.id
    language = world.public.interpretation_languages[0]
    host = await world.with_role(Role.MODERATOR, session_id=room)
    speaker_client = await world.with_role(Role.SPEAKER, session_id=room)
    interpreter_client = await world.with_role(Role.INTERPRETER, session_id=room)
    relief_client = await world.with_role(Role.INTERPRETER, session_id=room)
    people = [await world.guest(name) for name in ("Original", "Listener")]
    for client in (host, speaker_client, interpreter_client, relief_client, *people):
        await client.ok("room.enter", {"session_id": room})
    me = await world.http.get(
        "/api/me", headers={"Authorization": f"Bearer {speaker_client.token}"}
    )
    await host.ok("stage.put_on", {"session_id": room, "account_id": (await me.json())["id"]})

    floor = Speaker(speaker_client, room)
    interpreter = Speaker(interpreter_client, room)
    relief = Speaker(relief_client, room)
    original, listener = (Watcher(person, room) for person in people)
    async with closing(floor, interpreter, relief, original, listener):
        await floor.accept(await floor.publish(Tone(FLOOR)))
        await interpreter.accept(
            await interpreter.publish(Tone(CHANNEL), video=False, language=language)
        )
        for watcher in (original, listener):
            assert (await watcher.watch(floor.publication_id))["ok"]
        channels = [p for p in await publications(people[0], room) if p["language"]]
        assert channels == [
            {
                "id": interpreter.publication_id,
                "account_id": channels[0]["account_id"],
                "source": "interpretation",
                "kinds": ["audio"],
                "language": language,
                "on_air": True,
            }
        ]
        for watcher in (original, listener):
            await hears(watcher, FLOOR, within=10)  # connected, the floor by default

        assert await listen(listener, language) == {"language": language, "on_air": True}
        switched = await hears(listener, CHANNEL)
        await original.frames("video", 10)  # the picture goes on for everyone
        await listener.frames("video", 10)
        assert await heard(next(t for t in original.tracks if t.kind == "audio")) == FLOOR

        # A relief interpreter stands by, then takes over with no gap on the channel.
        await relief.accept(await relief.publish(Tone(RELIEF), video=False, language=language))
        standing = {p["id"]: p["on_air"] for p in await publications(people[0], room)}
        assert standing[relief.publication_id] is False
        await relief_client.ok(
            "stage.take_over", {"session_id": room, "publication_id": relief.publication_id}
        )
        on_air = {p["id"]: p["on_air"] for p in await publications(people[0], room)}
        assert (on_air[relief.publication_id], on_air[interpreter.publication_id]) == (True, False)
        assert await listen(listener, language) == {"language": language, "on_air": True}
        await hears(listener, RELIEF)

        # The channel on air ends: its listener is back on the floor at once, not silent.
        await relief_client.ok(
            "stage.unpublish", {"session_id": room, "publication_id": relief.publication_id}
        )
        await hears(listener, FLOOR, within=2 * SWITCH_WITHIN)
        back = await listen(listener, None)
        assert back == {"language": None, "on_air": False}

    # Recorded side by side: the floor's file, and the channel's in a file naming its language
    # (finished as the stage closes, as it does when the app stops).
    await world.http.server.app[REALTIME].stage.close()
    recorded = list_recordings(settings.data_dir, room)
    assert sorted(r.language or "" for r in recorded) == ["", language]
    channel_file = next(r for r in recorded if r.language == language)
    assert channel_file.path.name.endswith(f"-{language}.webm")
    assert channel_file.size > 0
    print(f"\nswitch to the channel heard after {switched * 1000:.0f} ms")


async def test_only_interpreters_publish_channels_and_bad_choices_are_refused(
    world: World,
) -> None:
    room = world.public.id
    offered = world.public.interpretation_languages
    participant = await world.guest("Curious")
    interpreter_client = await world.with_role(Role.INTERPRETER, session_id=room)
    for client in (participant, interpreter_client):
        await client.ok("room.enter", {"session_id": room})

    outsider = Speaker(participant, room)
    wrong_language = Speaker(interpreter_client, room)
    with_video = Speaker(interpreter_client, room)
    async with closing(outsider, wrong_language, with_video):
        refused = await outsider.publish(Tone(CHANNEL), video=False, language=offered[0])
        assert refused["error"]["code"] == "stage.not_an_interpreter"
        refused = await wrong_language.publish(Tone(CHANNEL), video=False, language="zz")
        assert refused["error"]["code"] == "stage.bad_language"
        assert refused["error"]["details"]["offered"] == offered
        refused = await with_video.publish(Tone(CHANNEL), video=True, language=offered[0])
        assert refused["error"]["code"] == "stage.bad_media"

    unknown = {"session_id": room, "watch_id": "0" * 32}
    bad = await participant.call("stage.listen", {**unknown, "language": "zz"})
    assert bad["error"]["code"] == "stage.bad_language"
    missing = await participant.call("stage.listen", {**unknown, "language": None})
    assert missing["error"]["code"] == "stage.not_found"
    take = await participant.call(
        "stage.take_over", {"session_id": room, "publication_id": "0" * 32}
    )
    assert take["error"]["code"] == "stage.not_found"


async def test_two_channels_at_once_each_listener_hears_their_own(world: World) -> None:
    """A side event with the floor and two interpretation channels (the 'done' of issue
    25): three listeners, three sounds, on one stage."""
    room = world.public.id
    async with transaction(world.db) as db:  # type: ignore[arg-type]
        session = await db.get(Session, room)
        assert session is not None
        session.interpretation_languages = ["ar", "fr"]
    host = await world.with_role(Role.MODERATOR, session_id=room)
    speaker_client = await world.with_role(Role.SPEAKER, session_id=room)
    arabic_client = await world.with_role(Role.INTERPRETER, session_id=room)
    french_client = await world.with_role(Role.INTERPRETER, session_id=room)
    people = [await world.guest(name) for name in ("Original", "Arabic", "French")]
    for client in (host, speaker_client, arabic_client, french_client, *people):
        await client.ok("room.enter", {"session_id": room})
    me = await world.http.get(
        "/api/me", headers={"Authorization": f"Bearer {speaker_client.token}"}
    )
    await host.ok("stage.put_on", {"session_id": room, "account_id": (await me.json())["id"]})

    floor = Speaker(speaker_client, room)
    arabic, french = Speaker(arabic_client, room), Speaker(french_client, room)
    listeners = [Watcher(person, room) for person in people]
    async with closing(floor, arabic, french, *listeners):
        await floor.accept(await floor.publish(Tone(FLOOR)))
        await arabic.accept(await arabic.publish(Tone(CHANNEL), video=False, language="ar"))
        await french.accept(await french.publish(Tone(RELIEF), video=False, language="fr"))
        for watcher in listeners:
            assert (await watcher.watch(floor.publication_id))["ok"]
            await hears(watcher, FLOOR, within=10)
        original, in_arabic, in_french = listeners
        assert (await listen(in_arabic, "ar"))["on_air"] is True
        assert (await listen(in_french, "fr"))["on_air"] is True
        await hears(in_arabic, CHANNEL)
        await hears(in_french, RELIEF)
        assert await heard(next(t for t in original.tracks if t.kind == "audio")) == FLOOR
        for watcher in listeners:
            await watcher.frames("video", 10)
