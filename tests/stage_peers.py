"""aiortc speakers and viewers that signal through a real server's ``stage.*`` commands."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from aiortc import AudioStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from tests.live import Client
from tests.media_kit import CONFIG, TIMEOUT, MovingPattern


class Speaker:
    """An aiortc peer publishing a moving pattern and a tone through ``stage.publish``."""

    def __init__(self, client: Client, session_id: int) -> None:
        self.client, self.session_id = client, session_id
        self.pc = RTCPeerConnection(CONFIG)
        self.publication_id = ""

    async def publish(self) -> dict[str, Any]:
        self.pc.addTransceiver(MovingPattern(), direction="sendonly")
        self.pc.addTransceiver(AudioStreamTrack(), direction="sendonly")
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return await self.client.call(
            "stage.publish",
            {
                "session_id": self.session_id,
                "source": "camera",
                "sdp": self.pc.localDescription.sdp,
            },
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
