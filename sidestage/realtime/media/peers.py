"""Server-side peer connections: publishers send to us, we offer their tracks to viewers.

The server always makes the offer to a viewer, with each transceiver's codec preferences
forced to the publisher's negotiated codec: forwarded frames can only be decoded with the
codec they were encoded with, and preferences set after a viewer's offer have no effect.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aiortc import (
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpCodecCapability,
    RTCRtpCodecParameters,
    RTCRtpSender,
    RTCRtpTransceiver,
    RTCSessionDescription,
)

from sidestage.realtime.media import accel
from sidestage.realtime.media.forwarder import Forwarder, ViewerTrack

FORWARDABLE = frozenset({"video/vp8", "video/h264", "audio/opus"})


class CodecMismatch(RuntimeError):
    """A viewer's answer did not keep the publisher's codec."""


@dataclass
class Publisher:
    """A publisher's connection and one forwarder per track it sends."""

    pc: RTCPeerConnection
    forwarders: list[Forwarder]

    async def close(self) -> None:
        await asyncio.gather(*(f.stop() for f in self.forwarders))
        await self.pc.close()


@dataclass
class ViewerPeer:
    """A viewer's connection; ``tracks`` follow the order of the forwarders."""

    pc: RTCPeerConnection
    tracks: list[ViewerTrack]
    forced: list[tuple[RTCRtpTransceiver, RTCRtpCodecParameters]] = field(default_factory=list)

    @property
    def offer(self) -> RTCSessionDescription:
        description = self.pc.localDescription
        assert description is not None, "the offer is set in offer_to_viewer"
        return description

    async def accept_answer(self, answer: RTCSessionDescription) -> None:
        await self.pc.setRemoteDescription(answer)
        for transceiver, expected in self.forced:
            got = accel.negotiated_codec(transceiver)
            if got.mimeType.lower() != expected.mimeType.lower():
                raise CodecMismatch(f"viewer answered {got.mimeType}, needs {expected.mimeType}")

    async def close(self) -> None:
        await self.pc.close()


async def accept_publisher(
    offer: RTCSessionDescription, configuration: RTCConfiguration | None = None
) -> tuple[Publisher, RTCSessionDescription]:
    """Answer a publisher's offer; its tracks are forwarded, never decoded."""
    pc = RTCPeerConnection(configuration)
    try:
        await pc.setRemoteDescription(offer)
        forwarders = [_forward(t) for t in pc.getTransceivers() if t.receiver.track]
        await pc.setLocalDescription(await pc.createAnswer())
    except BaseException:
        await pc.close()
        raise
    answer = pc.localDescription
    assert answer is not None
    return Publisher(pc, forwarders), answer


async def offer_to_viewer(
    forwarders: list[Forwarder], configuration: RTCConfiguration | None = None
) -> ViewerPeer:
    """A connection sending ``forwarders`` to one viewer; send ``viewer.offer`` to it."""
    pc = RTCPeerConnection(configuration)
    viewer = ViewerPeer(pc, [])
    try:
        for forwarder in forwarders:
            _add_forwarded(viewer, forwarder)
        await pc.setLocalDescription(await pc.createOffer())
    except BaseException:
        for track in viewer.tracks:
            track.stop()
        await pc.close()
        raise
    return viewer


def _forward(transceiver: RTCRtpTransceiver) -> Forwarder:
    codec = accel.negotiated_codec(transceiver)
    if codec.mimeType.lower() not in FORWARDABLE:
        raise ValueError(f"cannot forward {codec.mimeType}")
    transceiver.direction = "recvonly"
    return Forwarder(accel.encoded_source(transceiver))


def _add_forwarded(viewer: ViewerPeer, forwarder: Forwarder) -> None:
    track = forwarder.add_viewer()
    viewer.tracks.append(track)
    transceiver = viewer.pc.addTransceiver(track, direction="sendonly")
    transceiver.setCodecPreferences(codec_preferences(forwarder.codec))
    accel.send_forwarded(transceiver, track, forwarder)
    viewer.forced.append((transceiver, forwarder.codec))


def codec_preferences(codec: RTCRtpCodecParameters) -> list[RTCRtpCodecCapability]:
    """Only ``codec`` (same parameters, e.g. H264 profile), plus RTX for retransmissions."""
    kind = codec.mimeType.split("/")[0]
    chosen = [
        c
        for c in RTCRtpSender.getCapabilities(kind).codecs
        if c.mimeType.lower() == codec.mimeType.lower() and c.parameters == codec.parameters
    ]
    if not chosen:
        raise ValueError(f"aiortc cannot send {codec.mimeType} {codec.parameters}")
    rtx = [
        c for c in RTCRtpSender.getCapabilities(kind).codecs if c.mimeType.lower() == "video/rtx"
    ]
    return chosen[:1] + (rtx if kind == "video" else [])
