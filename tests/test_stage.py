"""The stage over Socket.IO: the host's lineup, and aiortc speakers and viewers signalling
through the real server, with frames forwarded to them (SQLite; media is the same on both)."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import av
import pytest

from sidestage.platform.access.models import Role
from sidestage.platform.settings import Settings
from sidestage.realtime.media.recorder import list_recordings
from tests.helpers import bearer
from tests.live import Client
from tests.media_kit import use_loopback_ice
from tests.rooms_world import World, make_world
from tests.stage_peers import Speaker, Watcher, closing

pytestmark = pytest.mark.media

CAPACITY = 15  # units: one video viewer (10) and five listeners (1 each)


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, media_capacity=CAPACITY)


@pytest.fixture
async def world(client, db, monkeypatch) -> AsyncIterator[World]:  # type: ignore[no-untyped-def]
    use_loopback_ice(monkeypatch)
    built = await make_world(client, db)
    yield built
    await built.close()


async def account_id(world: World, client: Client) -> int:
    answer = await world.http.get("/api/me", headers=bearer(client.token))
    return int((await answer.json())["id"])


async def entered(client: Client, world: World) -> dict[str, Any]:
    return await client.ok("room.enter", {"session_id": world.public.id})


@dataclass
class Cast:
    """A moderator, a speaker they put on stage, and guests: all in the public room."""

    host: Client
    on_stage: Client
    speaker_id: int
    guests: list[Client]


async def cast(world: World, *guests: str) -> Cast:
    session = world.public
    host = await world.with_role(Role.MODERATOR, session_id=session.id)
    on_stage = await world.with_role(Role.SPEAKER, session_id=session.id)
    audience = [await world.guest(name) for name in guests]
    for client in (host, on_stage, *audience):
        await entered(client, world)
    speaker_id = await account_id(world, on_stage)
    await host.ok("stage.put_on", {"session_id": session.id, "account_id": speaker_id})
    return Cast(host, on_stage, speaker_id, audience)


async def test_only_speakers_go_on_stage_and_only_those_on_it_publish(world: World) -> None:
    session = world.public
    host = await world.with_role(Role.MODERATOR, session_id=session.id)
    speaker = await world.with_role(Role.SPEAKER, session_id=session.id)
    guest = await world.guest("In the audience")
    for client in (host, speaker, guest):
        await entered(client, world)
    speaker_id, guest_id = await account_id(world, speaker), await account_id(world, guest)

    refused = await guest.call("stage.put_on", {"session_id": session.id, "account_id": guest_id})
    assert refused["error"]["code"] == "stage.forbidden"
    refused = await host.call("stage.put_on", {"session_id": session.id, "account_id": guest_id})
    assert refused["error"]["code"] == "stage.not_a_speaker"

    not_yet = Speaker(speaker, session.id)
    async with closing(not_yet):
        refused = await not_yet.publish()
    assert refused["error"]["code"] == "stage.not_on_stage"

    await host.ok("stage.put_on", {"session_id": session.id, "account_id": speaker_id})
    changed = await guest.wait_for("stage.changed", lambda s: s["speakers"])
    assert [s["account_id"] for s in changed["speakers"]] == [speaker_id]
    assert changed["publications"] == []
    state = await host.ok("room.enter", {"session_id": session.id})
    candidates = state["moderation"]["stage_candidates"]
    assert [c["account_id"] for c in candidates] == [speaker_id]
    assert state["stage"]["speakers"] == changed["speakers"]


async def test_a_speakers_camera_reaches_viewers_forwarded_and_is_recorded(
    world: World, settings: Settings
) -> None:
    session = world.public
    people = await cast(world, "Viewer", "Listener")
    viewer, listener = people.guests
    speaker = Speaker(people.on_stage, session.id)
    watching, hearing = Watcher(viewer, session.id), Watcher(listener, session.id)
    async with closing(speaker, watching, hearing):
        await speaker.accept(await speaker.publish())
        changed = await viewer.wait_for("stage.changed", lambda s: s["publications"])
        publication = changed["publications"][0]
        assert publication["id"] == speaker.publication_id
        assert (publication["source"], publication["kinds"]) == ("camera", ["audio", "video"])
        assert changed["recording"] is True

        await watching.watch(speaker.publication_id)
        await hearing.watch(speaker.publication_id, audio_only=True)
        await watching.frames("video", 30)
        await watching.frames("audio", 20)
        await hearing.frames("audio", 20)
        assert sorted(t.kind for t in watching.tracks) == ["audio", "video"]
        assert [t.kind for t in hearing.tracks] == ["audio"]

        # Taken off the stage: the camera stops and every viewer hears of it.
        await people.host.ok(
            "stage.take_off", {"session_id": session.id, "account_id": people.speaker_id}
        )
        gone = await viewer.wait_for(
            "stage.changed", lambda s: not s["speakers"] and not s["publications"]
        )
        assert gone["session_id"] == session.id
    await world.close()  # first the clients, or the server waits for their websockets
    await world.http.close()  # the server stops, and closes the recording's file
    [recording] = list_recordings(settings.data_dir, session.id)
    with av.open(str(recording.path)) as played:
        kinds = Counter(packet.stream.type for packet in played.demux() if packet.size)
    assert kinds["video"] >= 30 and kinds["audio"] >= 20, kinds


async def test_a_full_stage_offers_audio_and_the_room_goes_on(world: World) -> None:
    session = world.public
    people = await cast(world, "First", "Second")
    first, second = people.guests
    speaker = Speaker(people.on_stage, session.id)
    watchers = [Watcher(first, session.id), Watcher(second, session.id)]
    async with closing(speaker, *watchers):
        await speaker.accept(await speaker.publish())
        assert (await watchers[0].watch(speaker.publication_id))["ok"]
        refused = await watchers[1].watch(speaker.publication_id)
        assert refused["error"]["code"] == "stage.full"
        assert refused["error"]["details"] == {"instead": ["audio", "stream"]}
        assert (await watchers[1].watch(speaker.publication_id, audio_only=True))["ok"]
        await watchers[1].frames("audio", 10)
        await second.ok("chat.send", {"session_id": session.id, "text": "I can hear you"})
        await first.wait_for("chat.posted", lambda m: m["text"] == "I can hear you")


async def test_a_speaker_who_disconnects_leaves_the_stage_empty(world: World) -> None:
    session = world.public
    people = await cast(world)
    host, on_stage = people.host, people.on_stage
    speaker = Speaker(on_stage, session.id)
    async with closing(speaker):
        await speaker.accept(await speaker.publish())
        await host.wait_for("stage.changed", lambda s: s["publications"])
        await on_stage.close()
        after = await host.wait_for(
            "stage.changed", lambda s: s["speakers"] and not s["publications"]
        )
    assert len(after["speakers"]) == 1  # still on the lineup, to come back


async def test_signalling_refuses_what_it_cannot_use(world: World) -> None:
    session = world.public
    viewer = await world.guest("Curious")
    await entered(viewer, world)
    unknown = {"session_id": session.id, "publication_id": "0" * 32}
    assert (await viewer.call("stage.watch", unknown))["error"]["code"] == "stage.not_found"
    leave = {"session_id": session.id, "watch_id": "0" * 32}
    assert (await viewer.call("stage.leave", leave))["error"]["code"] == "stage.not_found"
    bad_id = {"session_id": session.id, "publication_id": "../../etc"}
    assert (await viewer.call("stage.watch", bad_id))["error"]["code"] == "stage.invalid"


DATA_ONLY_OFFER = (
    "v=0\r\n"
    "o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0\r\n"
    "a=msid-semantic: WMS\r\n"
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:abcd\r\n"
    "a=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
    "a=fingerprint:sha-256 " + ":".join(["AB"] * 32) + "\r\n"
    "a=setup:actpass\r\n"
    "a=mid:0\r\n"
    "a=sctp-port:5000\r\n"
)
NO_MEDIA_OFFER = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"


async def test_an_offer_without_sound_or_picture_is_refused(world: World) -> None:
    """``stage.bad_media``, before the media plane: nothing is published or announced."""
    people = await cast(world, "Watching")
    for sdp in (DATA_ONLY_OFFER, NO_MEDIA_OFFER, NO_MEDIA_OFFER.replace("\r\n", "\n")):
        refused = await people.on_stage.call(
            "stage.publish", {"session_id": world.public.id, "source": "camera", "sdp": sdp}
        )
        assert refused["ok"] is False and refused["error"]["code"] == "stage.bad_media"
    state = await entered(people.guests[0], world)
    assert state["stage"]["publications"] == []
    assert [s["publications"] for s in people.guests[0].received["stage.changed"]] in ([], [[]])
