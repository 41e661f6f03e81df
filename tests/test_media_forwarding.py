"""Media forwarding on loopback with real aiortc peers: a publisher, the server, viewers.

The server (``sidestage.realtime.media``) must forward encoded frames: it never decodes
nor encodes them. Viewers decode normally and count frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import av
import pytest
from aiortc import RTCPeerConnection, RTCRtpCodecParameters, RTCRtpSender
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtp import RtpPacket

from sidestage.realtime.media.accel import receiving, rtp_writer, sendout
from sidestage.realtime.media.forwarder import Forwarder
from sidestage.realtime.media.packing import PackedFrame
from sidestage.realtime.media.peers import Publisher, ViewerPeer, offer_to_viewer
from tests.media_kit import (
    CONFIG,
    H264_SKIP,
    HEIGHT,
    TIMEOUT,
    WIDTH,
    CodecUse,
    MovingPattern,
    publishing,
)

VIDEO_FRAMES, AUDIO_FRAMES = 30, 50


pytestmark = [pytest.mark.usefixtures("loopback_ice"), pytest.mark.media]


@dataclass
class Counter:
    """Frames one viewer decoded on one track."""

    target: int
    count: int = 0
    first_at: float | None = None
    last_at: float | None = None
    sizes: set[tuple[int, int]] = field(default_factory=set)
    reached: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self, frame: object) -> None:
        now = time.monotonic()
        self.first_at = self.first_at or now
        self.last_at = now
        self.count += 1
        if isinstance(frame, av.VideoFrame):
            self.sizes.add((frame.width, frame.height))
        if self.count >= self.target:
            self.reached.set()

    def fps(self) -> float:
        assert self.first_at is not None and self.last_at is not None
        return (self.count - 1) / max(self.last_at - self.first_at, 1e-6)

    async def wait(self, count: int | None = None) -> None:
        if count is not None:
            self.target, self.reached = count, asyncio.Event()
            if self.count >= count:
                return
        await asyncio.wait_for(self.reached.wait(), TIMEOUT)


@dataclass
class ViewerClient:
    """An ordinary aiortc viewer: answers the server's offer, decodes, counts."""

    pc: RTCPeerConnection
    counters: dict[str, Counter]
    server: ViewerPeer
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def codec(self, kind: str) -> RTCRtpCodecParameters:
        transceiver = next(t for t in self.pc.getTransceivers() if t.kind == kind)
        return receiving.negotiated_codec(transceiver)

    async def close(self) -> None:
        await self.pc.close()
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _consume(track: MediaStreamTrack, counter: Counter) -> None:
    with contextlib.suppress(MediaStreamError):
        while True:
            counter.add(await track.recv())


@dataclass
class Stage:
    publisher_pc: RTCPeerConnection
    publisher: Publisher
    closers: list[Callable[[], Any]] = field(default_factory=list)

    async def join(self) -> ViewerClient:
        """A viewer joins: the server offers, the viewer answers."""
        viewer = await offer_to_viewer(self.publisher.forwarders, CONFIG)
        self.closers.append(viewer.close)
        client = ViewerClient(
            RTCPeerConnection(CONFIG),
            {"video": Counter(VIDEO_FRAMES), "audio": Counter(AUDIO_FRAMES)},
            viewer,
        )
        self.closers.append(client.close)

        @client.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            client.tasks.append(asyncio.create_task(_consume(track, client.counters[track.kind])))

        await client.pc.setRemoteDescription(viewer.offer)
        await client.pc.setLocalDescription(await client.pc.createAnswer())
        await viewer.accept_answer(client.pc.localDescription)
        return client


@contextlib.asynccontextmanager
async def stage(video_codec: str) -> AsyncIterator[Stage]:
    """A publisher sending a moving pattern in ``video_codec`` and Opus to the server."""
    closers: list[Callable[[], Any]] = []
    async with publishing(video_codec) as (pc, publisher):
        try:
            yield Stage(pc, publisher, closers)
        finally:
            for close in reversed(closers):
                await close()


@pytest.mark.parametrize(
    ("video_codec", "decoder", "encoder"),
    [
        pytest.param("VP8", "Vp8Decoder", "Vp8Encoder", id="vp8+opus"),
        pytest.param(
            "H264",
            "H264Decoder",
            "H264Encoder",
            id="h264+opus",
            marks=H264_SKIP,
        ),
    ],
)
async def test_forwards_to_viewers_without_transcoding(
    video_codec: str,
    decoder: str,
    encoder: str,
    codec_use: CodecUse,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="aiortc")
    async with stage(video_codec) as scene:
        viewers = [await scene.join() for _ in range(3)]
        for viewer in viewers:
            await viewer.counters["video"].wait()
            await viewer.counters["audio"].wait()
            assert viewer.codec("video").name == video_codec
            assert viewer.codec("audio").name == "opus"
            assert viewer.counters["video"].sizes == {(WIDTH, HEIGHT)}

        # The late viewer joins once the others have seen about two seconds of video.
        await viewers[0].counters["video"].wait(60)
        joined_at = time.monotonic()
        late = await scene.join()
        await late.counters["video"].wait()
        await late.counters["audio"].wait()
        first_frame_after = late.counters["video"].first_at - joined_at  # type: ignore[operator]
        assert first_frame_after < 3.0  # VP8 here has no periodic keyframes: it was requested

        video_forwarder = scene.publisher.forwarders[0]
        assert video_forwarder.stats.keyframe_requests >= 1
        fps = [round(v.counters["video"].fps(), 1) for v in [*viewers, late]]
        print(
            f"{video_codec}: video fps at viewers {fps}, late first frame {first_frame_after:.2f}s"
        )

    # Only the publisher encoded (one encoder per track) and only the 4 viewers decoded:
    # the server neither decoded nor re-encoded anything.
    assert codec_use.counts() == ({encoder: 1, "OpusEncoder": 1}, {decoder: 4, "OpusDecoder": 4})
    # Viewers only ever got frames whose references they had: no decoder complained.
    assert [r.getMessage() for r in caplog.records if "decode" in r.getMessage()] == []


class LossyLink:
    """Drops chosen video RTP packets as they reach the viewer; counts retransmissions.

    SRTP leaves the RTP header in clear, so the payload type and sequence number are read
    off the wire. Sits on the viewer's side of the selected ICE pair, below everything the
    viewer does and after everything the server does, as a lossy network would.
    """

    def __init__(self, transceiver: Any, drop_every: int) -> None:
        codecs = transceiver._codecs
        self.video = next(c.payloadType for c in codecs if c.name == "VP8")
        self.rtx = next(c.payloadType for c in codecs if c.name == "rtx")
        self.drop_every = drop_every
        self.seen = self.dropped = self.retransmitted = 0
        ice = transceiver.receiver.transport.transport._connection
        self.protocol = ice._nominated[1].protocol
        self._deliver = self.protocol.datagram_received
        self.protocol.datagram_received = self.datagram_received

    def datagram_received(self, data: bytes, address: Any) -> None:
        payload_type = data[1] & 0x7F if len(data) > 12 and data[0] >> 6 == 2 else None
        if payload_type == self.rtx:
            self.retransmitted += 1
        elif payload_type == self.video:
            self.seen += 1
            if self.seen % self.drop_every == 0:
                self.dropped += 1
                return
        self._deliver(data, address)


@pytest.fixture(params=["native", "python"])
def sender(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Which path RtpWriter sends by: the native sender, or Python where it is not built."""
    if request.param == "python":
        monkeypatch.setattr(sendout, "_sendout", None)
    return str(request.param)


@pytest.mark.fast_path("media.rtp_writer")
async def test_lost_packets_are_retransmitted_from_the_writers_history(
    caplog: pytest.LogCaptureFixture, sender: str
) -> None:
    caplog.set_level(logging.WARNING, logger="aiortc")
    async with stage("VP8") as scene:
        viewer = await scene.join()
        await viewer.counters["video"].wait(5)  # connected: the selected pair is known
        writer = viewer.server.tracks[0]._writer
        assert isinstance(writer, rtp_writer.RtpWriter)
        assert (writer._native is not None) == (sender == "native")
        video = next(t for t in viewer.pc.getTransceivers() if t.kind == "video")
        link = LossyLink(video, drop_every=10)
        await viewer.counters["video"].wait(viewer.counters["video"].count + 60)
        assert link.dropped >= 5
        # Every loss was asked for again (NACK) and resent over RTX from the history.
        assert link.retransmitted >= link.dropped - 1
        keyframe_requests = scene.publisher.forwarders[0].stats.keyframe_requests
        assert keyframe_requests <= 2  # the join's; loss was repaired without keyframes
    assert [r.getMessage() for r in caplog.records if "decode" in r.getMessage()] == []


async def test_the_private_aiortc_api_is_still_there() -> None:
    assert (receiving.missing(), rtp_writer.missing()) == ([], [])
    pc = RTCPeerConnection(CONFIG)
    server = RTCPeerConnection(CONFIG)
    try:
        pc.addTransceiver(MovingPattern(), direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        await server.setRemoteDescription(pc.localDescription)
        transceiver = server.getTransceivers()[0]
        source = receiving.install_encoded_receiver(transceiver)
        assert getattr(transceiver.receiver, receiving._JITTER_BUFFER).add
        assert source.codec.name == "VP8"
        rtp_writer.route_keyframe_requests(transceiver.sender, lambda: None)
    finally:
        await server.close()
        await pc.close()


def test_a_missing_private_name_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(RTCRtpSender, "_send_keyframe")
    assert "RTCRtpSender._send_keyframe" in rtp_writer.missing()


class QueueTrack(MediaStreamTrack):
    """A real track fed by the test: the publisher side of a forwarder, without a network."""

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self.queue: asyncio.Queue[av.Packet | None] = asyncio.Queue()
        self._taken = False

    async def recv(self) -> av.Packet:
        if self._taken:
            # The forwarder asks for the next packet only once it fanned out the last one.
            self.queue.task_done()
        packet = await self.queue.get()
        self._taken = True
        if packet is None:
            self.stop()
            raise MediaStreamError
        return packet


@dataclass
class QueueSource:
    track: QueueTrack = field(default_factory=QueueTrack)
    kind: str = "video"
    codec: RTCRtpCodecParameters = field(
        default_factory=lambda: RTCRtpCodecParameters("video/VP8", 90000, 97)
    )
    plis: list[float] = field(default_factory=list)
    pli_seen: asyncio.Event = field(default_factory=asyncio.Event)

    async def send_pli(self) -> bool:
        self.plis.append(time.monotonic())
        self.pli_seen.set()
        return True

    async def wait_pli(self, count: int) -> None:
        while len(self.plis) < count:
            self.pli_seen.clear()
            await asyncio.wait_for(self.pli_seen.wait(), TIMEOUT)

    def pending(self) -> int:
        return self.track.queue.qsize()


@dataclass
class CollectingWriter:
    """Stands in for the network side of one viewer: keeps the frames written to it."""

    frames: list[PackedFrame] = field(default_factory=list)

    def write(self, frame: PackedFrame) -> int:
        self.frames.append(frame)
        return frame.timestamp

    @property
    def timestamps(self) -> list[int]:
        return [f.timestamp for f in self.frames]


def _connected_viewer(forwarder: Forwarder) -> tuple[CollectingWriter, asyncio.Task[Any]]:
    """A viewer whose sender has started, as aiortc's would once the viewer is connected."""
    writer = CollectingWriter()
    viewer = forwarder.add_viewer()
    viewer.bind(lambda: writer)
    return writer, asyncio.create_task(viewer.recv())


def _frames(start: int, keyframes: Iterator[bool]) -> Iterator[av.Packet]:
    for n, key in enumerate(keyframes, start):
        packet = av.Packet(bytes([n % 256]) * 10)
        packet.pts, packet.time_base, packet.is_keyframe = n * 3000, Fraction(1, 90000), key
        yield packet


async def _delivered(forwarder: Forwarder, packets: Iterator[av.Packet]) -> None:
    """Feed packets and wait until the forwarder has fanned each one out."""
    queue = forwarder._source.track.queue  # type: ignore[attr-defined]
    for packet in packets:
        queue.put_nowait(packet)
        await asyncio.wait_for(queue.join(), TIMEOUT)


async def test_a_viewer_starts_at_a_keyframe_and_frames_are_packetized_once() -> None:
    source = QueueSource()
    forwarder = Forwarder(source, keyframe_interval=0.05)
    try:
        first, _ = _connected_viewer(forwarder)
        await source.wait_pli(1)  # joining asks for a keyframe
        await _delivered(forwarder, _frames(0, iter([False, True, False])))
        assert first.timestamps == [3000, 6000]  # the delta before the keyframe is never sent

        second, _ = _connected_viewer(forwarder)
        await source.wait_pli(2)
        await _delivered(forwarder, _frames(3, iter([False, True])))
        assert second.timestamps == [12000]
        assert first.timestamps == [3000, 6000, 9000, 12000]
        assert first.frames[-1] is second.frames[-1]  # one packed frame for every viewer
        assert b"".join(first.frames[-1].payloads).endswith(bytes([4]) * 10)
    finally:
        await forwarder.stop()


async def test_fan_out_that_falls_behind_drops_deltas_up_to_a_keyframe() -> None:
    source = QueueSource()
    forwarder = Forwarder(source, keyframe_interval=0.05)
    try:
        viewer, _ = _connected_viewer(forwarder)
        await source.wait_pli(1)
        await _delivered(forwarder, _frames(0, iter([True])))
        # Eight frames waiting at once: more than the backlog allowed behind the first.
        for packet in _frames(1, iter([False] * 5 + [True, False, False])):
            source.track.queue.put_nowait(packet)
        await asyncio.wait_for(source.track.queue.join(), TIMEOUT)
        await source.wait_pli(2)  # catching up asks for the keyframe it waits for
        assert viewer.timestamps == [0, 6 * 3000, 7 * 3000, 8 * 3000]
        assert forwarder.stats.frames_dropped == 5
    finally:
        await forwarder.stop()


async def test_keyframe_requests_are_coalesced() -> None:
    source = QueueSource()
    forwarder = Forwarder(source, keyframe_interval=0.2)
    try:
        for _ in range(20):
            forwarder.request_keyframe()
        await source.wait_pli(1)
        for _ in range(20):
            forwarder.request_keyframe()
        await source.wait_pli(2)
        assert len(source.plis) == 2
        assert source.plis[1] - source.plis[0] >= 0.2
    finally:
        await forwarder.stop()


async def test_viewers_leave_and_end_with_the_publisher() -> None:
    source = QueueSource()
    forwarder = Forwarder(source)
    leaving, staying = forwarder.add_viewer(), forwarder.add_viewer()
    leaving.stop()
    assert forwarder.viewers == {staying}
    pulling = asyncio.create_task(staying.recv())
    source.track.queue.put_nowait(None)  # the publisher's track ends
    with pytest.raises(MediaStreamError):
        await asyncio.wait_for(pulling, TIMEOUT)
    await asyncio.wait_for(forwarder.ended.wait(), TIMEOUT)
    assert staying.readyState == "ended"
    with pytest.raises(MediaStreamError):
        forwarder.add_viewer()
    await forwarder.stop()


async def _next_packet(track: MediaStreamTrack) -> av.Packet:
    packet = await asyncio.wait_for(track.recv(), TIMEOUT)
    assert isinstance(packet, av.Packet)
    return packet


def _rtp(seq: int, timestamp: int, data: bytes, *, start: bool, marker: bool) -> RtpPacket:
    """A VP8 RTP packet as the receiver hands it to its jitter buffer (depayloaded)."""
    packet = RtpPacket(payload_type=97, sequence_number=seq, timestamp=timestamp, ssrc=1234)
    packet.payload = bytes([0x10 if start else 0x00]) + data  # VP8 descriptor: S bit
    packet.marker = int(marker)
    packet._data = data  # type: ignore[attr-defined]
    return packet


async def test_frames_are_released_on_the_marker_bit_and_gaps_end_in_a_keyframe() -> None:
    pc, server = RTCPeerConnection(CONFIG), RTCPeerConnection(CONFIG)
    try:
        pc.addTransceiver(MovingPattern(), direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        await server.setRemoteDescription(pc.localDescription)
        transceiver = server.getTransceivers()[0]
        source = receiving.install_encoded_receiver(transceiver)
        receiver = transceiver.receiver
        getattr(receiver, receiving._RECEIVER_CODECS)[97] = source.codec  # as receive() does
        buffer = getattr(receiver, receiving._JITTER_BUFFER)
        key, delta = b"\x00key", b"\x01delta"

        # A two-packet keyframe is out as soon as its marker packet is in.
        assert buffer.add(_rtp(100, 9000, key, start=True, marker=False)) == (False, None)
        assert buffer.add(_rtp(101, 9000, b"more", start=False, marker=True)) == (False, None)
        first = await _next_packet(source.track)
        assert (bytes(first), first.pts, first.is_keyframe) == (key + b"more", 0, True)

        # A missing packet holds later frames back until it is retransmitted.
        buffer.add(_rtp(103, 15000, delta, start=True, marker=True))
        assert source.stats.frames == 1
        buffer.add(_rtp(102, 12000, delta, start=True, marker=True))
        assert [(await _next_packet(source.track)).pts for _ in range(2)] == [3000, 6000]

        # A packet that never comes: after a few complete frames the gap is given up,
        # a keyframe is requested (the receiver sends the PLI) and deltas are dropped.
        flags = [
            buffer.add(_rtp(s, 3000 * s, delta, start=True, marker=True))[0]
            for s in (105, 106, 107)
        ]
        assert flags == [False, False, True]
        buffer.add(_rtp(108, 3000 * 108, delta, start=True, marker=True))
        buffer.add(_rtp(109, 3000 * 109, key, start=True, marker=True))
        after_gap = await _next_packet(source.track)
        assert after_gap.is_keyframe and source.stats.frames == 4
    finally:
        await server.close()
        await pc.close()
