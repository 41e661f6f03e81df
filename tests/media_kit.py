"""Shared by the media tests: a real aiortc publisher on loopback and codec accounting."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aioice.ice
import av
import pytest
from aiortc import (
    AudioStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    VideoStreamTrack,
)
from aiortc.codecs.h264 import H264Decoder, H264Encoder
from aiortc.codecs.opus import OpusDecoder, OpusEncoder
from aiortc.codecs.vpx import Vp8Decoder, Vp8Encoder

from sidestage.realtime.media.peers import Publisher, accept_publisher

# No STUN/TURN on loopback: gathering would wait for servers that are not there.
CONFIG = RTCConfiguration(iceServers=[])
WIDTH, HEIGHT = 640, 480
TIMEOUT = 20.0


def use_loopback_ice(monkeypatch: pytest.MonkeyPatch) -> None:
    """aioice never offers 127.0.0.1 as a host candidate; these tests run on it only."""
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])


@dataclass
class CodecUse:
    """Which codec objects encoded or decoded anything, by identity."""

    encoders: dict[str, set[int]] = field(default_factory=dict)
    decoders: dict[str, set[int]] = field(default_factory=dict)

    def counts(self) -> tuple[dict[str, int], dict[str, int]]:
        return (
            {k: len(v) for k, v in self.encoders.items()},
            {k: len(v) for k, v in self.decoders.items()},
        )


def count_codec_use(monkeypatch: pytest.MonkeyPatch) -> CodecUse:
    use = CodecUse()
    for cls, method, record in (
        (Vp8Encoder, "encode", use.encoders),
        (H264Encoder, "encode", use.encoders),
        (OpusEncoder, "encode", use.encoders),
        (Vp8Decoder, "decode", use.decoders),
        (H264Decoder, "decode", use.decoders),
        (OpusDecoder, "decode", use.decoders),
    ):
        monkeypatch.setattr(cls, method, _recording(getattr(cls, method), record, cls.__name__))
    return use


def _recording(
    original: Callable[..., Any], record: dict[str, set[int]], name: str
) -> Callable[..., Any]:
    def wrapper(self: object, *args: Any, **kwargs: Any) -> Any:
        record.setdefault(name, set()).add(id(self))
        return original(self, *args, **kwargs)

    return wrapper


class MovingPattern(VideoStreamTrack):
    """640x480 at 30 fps: a diagonal gradient that moves, so frames really differ."""

    def __init__(self) -> None:
        super().__init__()
        self._n = 0
        frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
        size = frame.planes[0].buffer_size
        line = frame.planes[0].line_size
        self._luma = bytes((i % line + i // line) % 256 for i in range(size + 256))

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
        shift = (self._n * 3) % 256
        self._n += 1
        frame.planes[0].update(self._luma[shift : shift + frame.planes[0].buffer_size])
        for plane in frame.planes[1:]:
            plane.update(bytes([128]) * plane.buffer_size)
        frame.pts, frame.time_base = pts, time_base
        return frame


@contextlib.asynccontextmanager
async def publishing(video_codec: str) -> AsyncIterator[tuple[RTCPeerConnection, Publisher]]:
    """A publisher's connection sending a moving pattern in ``video_codec`` and Opus, and
    the server's side of it."""
    pc = RTCPeerConnection(CONFIG)
    publisher: Publisher | None = None
    try:
        video = pc.addTransceiver(MovingPattern(), direction="sendonly")
        video.setCodecPreferences(
            [c for c in RTCRtpSender.getCapabilities("video").codecs if c.name == video_codec][:1]
        )
        pc.addTransceiver(AudioStreamTrack(), direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        publisher, answer = await accept_publisher(pc.localDescription, CONFIG)
        await pc.setRemoteDescription(answer)
        yield pc, publisher
    finally:
        if publisher is not None:
            await publisher.close()
        await pc.close()


def h264_encoding_available() -> bool:
    try:
        av.codec.Codec("libx264", "w")
    except Exception:
        return False
    return True


H264_SKIP = pytest.mark.skipif(
    not h264_encoding_available(), reason="this PyAV build has no libx264 encoder"
)
