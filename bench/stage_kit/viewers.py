"""The viewers process: N aiortc peers that count frames instead of decoding them.

Their receivers' jitter buffers are replaced by a ``Tally``, so they do SRTP, RTCP, NACK and
REMB like any aiortc viewer but never assemble or decode: counting is all a load generator
needs.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from aiortc import RTCPeerConnection

from .aiortc_patches import NOTHING_TO_DECODE, RtpPacket, has_jitter_buffer, replace_jitter_buffer
from .child_processes import sdp_from_json, sdp_to_json
from .common import CONFIG, BenchError, FrameLog, Handler, JsonDict


class Tally:
    """Stands in for a viewer receiver's jitter buffer: counts frames, never decodes."""

    def __init__(self, kind: str) -> None:
        self.video = kind == "video"
        self.frames = 0
        self.bytes = 0
        self.arrivals: FrameLog | None = None  # a list while recording
        self._last: int | None = None
        self._target = 0
        self.reached = asyncio.Event()

    def add(self, packet: RtpPacket) -> tuple[bool, None]:
        self.bytes += len(packet.payload)
        if self.video and not packet.marker or packet.timestamp == self._last:
            return NOTHING_TO_DECODE  # mid-frame, or a retransmitted frame end
        self._last = packet.timestamp
        self.frames += 1
        if self.arrivals is not None:
            self.arrivals.append((packet.timestamp, time.time()))
        if self.frames >= self._target:
            self.reached.set()
        return NOTHING_TO_DECODE

    def expect(self, more: int) -> asyncio.Event:
        self._target = self.frames + more
        self.reached.clear()
        return self.reached


@dataclass
class Sink:
    pc: RTCPeerConnection
    tallies: dict[str, Tally] = field(default_factory=dict)


class ViewersRole:
    """N aiortc viewers that answer the server's offers and count what they receive."""

    def __init__(self) -> None:
        self.sinks: list[Sink] = []

    def handlers(self) -> dict[str, Handler]:
        return {
            "answer": self.answer,
            "wait": self.wait,
            "sample": self.sample,
            "record": self.record,
            "arrivals": self.arrivals,
        }

    async def answer(self, request: JsonDict) -> list[JsonDict]:
        return list(await asyncio.gather(*(self._answer(o) for o in request["offers"])))

    async def _answer(self, offer: JsonDict) -> JsonDict:
        sink = Sink(RTCPeerConnection(CONFIG))
        self.sinks.append(sink)
        await sink.pc.setRemoteDescription(sdp_from_json(offer))
        for transceiver in sink.pc.getTransceivers():
            if not has_jitter_buffer(transceiver.receiver):
                raise BenchError("aiortc's receiver has no jitter buffer to replace")
            tally = sink.tallies[transceiver.kind] = Tally(transceiver.kind)
            replace_jitter_buffer(transceiver.receiver, tally)
        await sink.pc.setLocalDescription(await sink.pc.createAnswer())
        return sdp_to_json(sink.pc.localDescription)

    async def wait(self, request: JsonDict) -> None:
        """Every viewer gets ``count`` more frames of every kind, or this fails."""
        events = [t.expect(request["count"]) for s in self.sinks for t in s.tallies.values()]
        try:
            await asyncio.wait_for(asyncio.gather(*(e.wait() for e in events)), request["timeout"])
        except TimeoutError:
            starved = sum(not e.is_set() for e in events)
            raise BenchError(f"{starved} viewer tracks got no media in time") from None

    async def sample(self, request: JsonDict) -> list[JsonDict]:
        return [{k: [t.frames, t.bytes] for k, t in s.tallies.items()} for s in self.sinks]

    async def record(self, request: JsonDict) -> None:
        for index in request["viewers"]:
            self.sinks[index].tallies["video"].arrivals = []

    async def arrivals(self, request: JsonDict) -> list[FrameLog]:
        recorded = []
        for index in request["viewers"]:
            tally = self.sinks[index].tallies["video"]
            recorded.append(tally.arrivals or [])
            tally.arrivals = None
        return recorded

    async def close(self, request: JsonDict) -> None:
        await asyncio.gather(*(s.pc.close() for s in self.sinks))
