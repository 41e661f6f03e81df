"""The viewers process: N aiortc peers that count frames instead of decoding them.

They connect like any aiortc viewer (ICE, DTLS, SRTP keys) and check and decrypt every
packet with SRTP, so a server that sealed a packet wrong is caught. Past SRTP, a ``Tally``
per track reads the RTP header (``read_rtp_headers``) instead of aiortc's receiver, which
would parse, keep statistics, watch for losses and depayload every packet: four times what
the server spends per packet, which made the viewers, not the server, fill the machine.
Their RTCP still goes out on aiortc's own schedule, without loss reports (nothing is lost
on loopback).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from aiortc import RTCPeerConnection

from sidestage.realtime.media.accel.receiving import negotiated_codec

from .aiortc_patches import read_rtp_headers
from .child_processes import sdp_from_json, sdp_to_json
from .common import CONFIG, BenchError, FrameLog, Handler, JsonDict


class Tally:
    """One viewer track's count of frames and payload bytes."""

    def __init__(self, kind: str) -> None:
        self.video = kind == "video"
        self.frames = 0
        self.bytes = 0
        self.arrivals: FrameLog | None = None  # a list while recording
        self._last: int | None = None
        self._target = 0
        self.reached = asyncio.Event()

    def add(self, timestamp: int, marker: bool, size: int) -> None:
        self.bytes += size
        if self.video and not marker or timestamp == self._last:
            return  # mid-frame, or a retransmitted frame end
        self._last = timestamp
        self.frames += 1
        if self.arrivals is not None:
            self.arrivals.append((timestamp, time.time()))
        if self.frames >= self._target:
            self.reached.set()

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
        await sink.pc.setLocalDescription(await sink.pc.createAnswer())
        by_payload_type = {}
        for transceiver in sink.pc.getTransceivers():
            tally = sink.tallies[transceiver.kind] = Tally(transceiver.kind)
            by_payload_type[negotiated_codec(transceiver).payloadType] = tally.add
        transports = {t.receiver.transport for t in sink.pc.getTransceivers()}
        if len(transports) != 1:
            raise BenchError("the viewer's tracks are not bundled on one transport")
        read_rtp_headers(transports.pop(), by_payload_type)
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
