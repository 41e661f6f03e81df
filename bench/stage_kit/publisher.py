"""The publisher process: one aiortc peer sending the stage's video and audio."""

from __future__ import annotations

import aiortc
from aiortc import RTCPeerConnection

from .aiortc_patches import note_frame_ends
from .child_processes import sdp_from_json, sdp_to_json
from .common import CONFIG, FrameLog, Handler, JsonDict, between
from .synthetic_media import NoisyPattern, Tone


class PublisherRole:
    """Sends the stage's media; notes when the last packet of each video frame left."""

    def __init__(self) -> None:
        self.pc = RTCPeerConnection(CONFIG)
        self.sent: FrameLog = []

    def handlers(self) -> dict[str, Handler]:
        return {"offer": self.offer, "answer": self.answer, "sent": self.sent_between}

    async def offer(self, request: JsonDict) -> JsonDict:
        if not request["audio_only"]:
            video = self.pc.addTransceiver(NoisyPattern(), direction="sendonly")
            vp8 = [
                c for c in aiortc.RTCRtpSender.getCapabilities("video").codecs if c.name == "VP8"
            ]
            video.setCodecPreferences(vp8[:1])
        self.pc.addTransceiver(Tone(), direction="sendonly")
        if request.get("interpreted"):  # an interpreter's channel, as a second sound
            self.pc.addTransceiver(Tone(), direction="sendonly")
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return sdp_to_json(self.pc.localDescription)

    async def answer(self, request: JsonDict) -> None:
        await self.pc.setRemoteDescription(sdp_from_json(request["answer"]))
        for transceiver in self.pc.getTransceivers():
            if transceiver.kind == "video":
                note_frame_ends(transceiver, self.sent)

    async def sent_between(self, request: JsonDict) -> FrameLog:
        return between(self.sent, request["since"], request["until"])

    async def close(self, request: JsonDict) -> None:
        await self.pc.close()
