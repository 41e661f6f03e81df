"""aiortc speakers and viewers that signal through a real server's ``stage.*`` commands."""

from __future__ import annotations

import asyncio
import contextlib
import math
from array import array
from collections.abc import AsyncIterator
from typing import Any

from aiortc import AudioStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from tests.live import Client
from tests.media_kit import CONFIG, TIMEOUT, MovingPattern


class Tone(AudioStreamTrack):
    """A sine at ``hz``, 20 ms frames of 48 kHz mono, in real time (aiortc's pacing)."""

    def __init__(self, hz: float) -> None:
        super().__init__()
        self.hz, self.sent = hz, 0

    async def recv(self) -> Any:
        frame = await super().recv()  # silence, on time
        step = 2 * math.pi * self.hz / frame.sample_rate
        wave = array(
            "h", (int(8000 * math.sin(step * (self.sent + i))) for i in range(frame.samples))
        )
        self.sent += frame.samples
        frame.planes[0].update(wave.tobytes())
        return frame


class Speaker:
    """An aiortc peer publishing through ``stage.publish``: a moving pattern and a tone (a
    camera), or a tone alone (an interpreter's channel, with ``language``)."""

    def __init__(self, client: Client, session_id: int) -> None:
        self.client, self.session_id = client, session_id
        self.pc = RTCPeerConnection(CONFIG)
        self.publication_id = ""

    async def publish(
        self,
        audio: MediaStreamTrack | None = None,
        video: bool = True,
        language: str | None = None,
    ) -> dict[str, Any]:
        if video:
            self.pc.addTransceiver(MovingPattern(), direction="sendonly")
        self.pc.addTransceiver(audio or AudioStreamTrack(), direction="sendonly")
        await self.pc.setLocalDescription(await self.pc.createOffer())
        payload = {
            "session_id": self.session_id,
            "source": "interpretation" if language else "camera",
            "sdp": self.pc.localDescription.sdp,
        }
        return await self.client.call(
            "stage.publish", payload | ({"language": language} if language else {})
        )

    async def accept(self, answer: dict[str, Any]) -> None:
        assert answer["ok"], answer
        self.publication_id = answer["data"]["publication_id"]
        await self.pc.setRemoteDescription(RTCSessionDescription(answer["data"]["sdp"], "answer"))


class Watcher:
    """An aiortc viewer: takes the server's offer, answers, and collects the tracks."""

    def __init__(self, client: Client, session_id: int) -> None:
        self.client, self.session_id = client, session_id
        self.pc = RTCPeerConnection(CONFIG)
        self.tracks: list[MediaStreamTrack] = []
        self.watch_id = ""
        self.pc.on("track", self.tracks.append)

    async def watch(self, publication_id: str, audio_only: bool = False) -> dict[str, Any]:
        offered = await self.client.call(
            "stage.watch",
            {
                "session_id": self.session_id,
                "publication_id": publication_id,
                "audio_only": audio_only,
            },
        )
        if not offered["ok"]:
            return offered
        await self.pc.setRemoteDescription(RTCSessionDescription(offered["data"]["sdp"], "offer"))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        self.watch_id = offered["data"]["watch_id"]
        payload = {"session_id": self.session_id, "watch_id": self.watch_id}
        await self.client.ok("stage.answer", {**payload, "sdp": self.pc.localDescription.sdp})
        return offered

    async def frames(self, kind: str, count: int) -> None:
        track = next(t for t in self.tracks if t.kind == kind)
        for _ in range(count):
            await asyncio.wait_for(track.recv(), TIMEOUT)


@contextlib.asynccontextmanager
async def closing(*peers: Speaker | Watcher) -> AsyncIterator[None]:
    try:
        yield
    finally:
        for peer in peers:
            await peer.pc.close()
