"""A room whose viewers outgrow the worker its speaker publishes to: another worker relays
the publication over TCP (``media.relay``) and fans it out to its own viewers.

Two ``StageHost``s in one process stand for two workers (the origin and an edge), sharing
a spreading budget; the relay between them is a real TCP connection on loopback, and the
publisher and viewers are real aiortc peers that encode and decode.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from types import SimpleNamespace

import av
import pytest
from aiortc import AudioStreamTrack, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from sidestage.platform.errors import NotFound
from sidestage.realtime.media.accel import receiving
from sidestage.realtime.media.relay import (
    FRAME,
    MAX_BUFFERED,
    Relay,
    RelayRefused,
    RelayServer,
    _Outlet,
)
from sidestage.realtime.media.stage import Relaying, StageHost
from sidestage.realtime.media_budget import COST, MemoryMediaBudget, Seat
from tests.media_kit import CONFIG, H264_SKIP, TIMEOUT, MovingPattern

pytestmark = [pytest.mark.usefixtures("loopback_ice"), pytest.mark.media]
SECRET = b"relay-test-secret-" * 2
ROOM = 3


@dataclass
class EdgeViewer:
    """An aiortc viewer of the edge: answers its offer, counts decoded frames per kind."""

    watch_id: str
    pc: RTCPeerConnection
    frames: dict[str, int] = field(default_factory=lambda: {"video": 0, "audio": 0})
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def frames_of(self, kind: str, count: int) -> None:
        async with asyncio.timeout(TIMEOUT):
            while self.frames[kind] < count:
                self._arrived.clear()
                await self._arrived.wait()

    async def consume(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                await track.recv()
                self.frames[track.kind] += 1
                self._arrived.set()
        except MediaStreamError:
            self.ended.set()

    async def close(self) -> None:
        await self.pc.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


@dataclass
class Workers:
    budget: MemoryMediaBudget
    origin: StageHost
    edge: StageHost
    server: RelayServer
    publisher: RTCPeerConnection
    publication_id: str = ""
    viewers: list[EdgeViewer] = field(default_factory=list)

    async def publish(self, video_codec: str) -> None:
        video = self.publisher.addTransceiver(MovingPattern(), direction="sendonly")
        video.setCodecPreferences(
            [c for c in RTCRtpSender.getCapabilities("video").codecs if c.name == video_codec][:1]
        )
        self.publisher.addTransceiver(AudioStreamTrack(), direction="sendonly")
        await self.publisher.setLocalDescription(await self.publisher.createOffer())
        offer = self.publisher.localDescription.sdp
        self.publication_id, answer = await self.origin.publish(ROOM, 7, "camera", "sp", offer)
        await self.publisher.setRemoteDescription(RTCSessionDescription(answer, "answer"))

    async def watch_on_edge(self, owner: str) -> EdgeViewer:
        watch_id, offer = await self.edge.watch(ROOM, self.publication_id, owner, False)
        viewer = EdgeViewer(watch_id, RTCPeerConnection(CONFIG))
        self.viewers.append(viewer)

        @viewer.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            viewer._tasks.append(asyncio.create_task(viewer.consume(track)))

        await viewer.pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
        await viewer.pc.setLocalDescription(await viewer.pc.createAnswer())
        await self.edge.answer(ROOM, watch_id, owner, viewer.pc.localDescription.sdp)
        return viewer


@contextlib.asynccontextmanager
async def two_workers() -> AsyncIterator[Workers]:
    """The origin holds the room but has no seats left; the edge has room for ten."""
    budget = MemoryMediaBudget(spread=True)
    origin = StageHost(budget, CONFIG, None, Relaying("origin", SECRET))
    edge = StageHost(budget, CONFIG, None, Relaying("edge", SECRET))
    server = RelayServer(origin.relayable, SECRET)
    await budget.heartbeat("origin", 0, relay=await server.start())
    assert await budget.assign(ROOM) == "origin"  # the room's stage is there
    await budget.heartbeat("edge", 10 * COST[Seat.VIDEO])
    workers = Workers(budget, origin, edge, server, RTCPeerConnection(CONFIG))
    try:
        yield workers
    finally:
        for viewer in workers.viewers:
            await viewer.close()
        await edge.close()
        await server.close()
        await origin.close()
        await workers.publisher.close()


@pytest.mark.parametrize(
    "video_codec", ["VP8", pytest.param("H264", marks=H264_SKIP)], ids=["vp8", "h264"]
)
async def test_an_edge_relays_the_publication_to_its_viewers(video_codec: str) -> None:
    async with two_workers() as workers:
        await workers.publish(video_codec)
        first = await workers.watch_on_edge("viewer-1")
        assert await workers.budget.seated_on(ROOM, first.watch_id) == "edge"
        await first.frames_of("video", 30)
        await first.frames_of("audio", 25)
        sent_as = next(t for t in first.pc.getTransceivers() if t.kind == "video")
        assert receiving.negotiated_codec(sent_as).name == video_codec  # forwarded, same codec

        # A second viewer on the edge shares the relay, and its keyframe request crosses
        # it (VP8 here sends no periodic keyframes: without it the viewer would wait).
        second = await workers.watch_on_edge("viewer-2")
        await second.frames_of("video", 10)
        assert workers.server.edges == 1
        origin_video = workers.origin.relayable(workers.publication_id)[1][0]  # type: ignore[index]
        assert origin_video.stats.keyframe_requests >= 2


async def test_the_relay_ends_with_its_last_viewer_and_with_the_publication() -> None:
    async with two_workers() as workers:
        await workers.publish("VP8")
        viewer = await workers.watch_on_edge("viewer-1")
        await viewer.frames_of("video", 5)
        relay = workers.edge._relayed[workers.publication_id].publisher
        assert isinstance(relay, Relay)

        await workers.edge.leave(ROOM, viewer.watch_id, "viewer-1")
        await asyncio.wait_for(relay.ended.wait(), TIMEOUT)  # nobody there watches it
        assert await workers.budget.used("edge") == 0

        again = await workers.watch_on_edge("viewer-2")
        await again.frames_of("video", 5)
        await workers.origin.unpublish(ROOM, workers.publication_id, "sp")
        # The origin's publication ended: the edge ends its viewers and gives seats back.
        await asyncio.wait_for(again.ended.wait(), TIMEOUT)
        assert workers.edge._relayed == {}
        assert await workers.budget.used("edge") == 0
        with pytest.raises(NotFound):
            await workers.edge.watch(ROOM, workers.publication_id, "viewer-3", False)


async def test_the_origin_relays_only_what_it_holds_to_whoever_signs_for_it() -> None:
    async with two_workers() as workers:
        await workers.publish("VP8")
        address = await workers.budget.relay_address("origin")
        assert address is not None
        with pytest.raises(RelayRefused, match="relay.forbidden"):
            await Relay.open(address, workers.publication_id, b"another secret")
        with pytest.raises(RelayRefused, match="relay.not_found"):
            await Relay.open(address, "0" * 32, SECRET)
        # Garbage instead of a request: refused, and the origin goes on serving.
        host, _, port = address.rpartition(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(b"not json\n")
        assert json.loads(await reader.readline()) == {"error": "relay.bad_request"}
        writer.close()
        # A publication of another room is not this room's to relay.
        with pytest.raises(NotFound):
            await workers.edge.watch(ROOM + 1, workers.publication_id, "viewer", False)
        viewer = await workers.watch_on_edge("viewer")
        await viewer.frames_of("video", 5)


class _Socket:
    """What an outlet writes to: a transport whose backlog the test sets."""

    def __init__(self) -> None:
        self.backlog = 0
        self.frames: list[bytes] = []

    def is_closing(self) -> bool:
        return False

    def get_write_buffer_size(self) -> int:
        return self.backlog

    def write(self, data: bytes) -> None:
        self.frames.append(data)


class _VideoTrack:
    kind = "video"

    def __init__(self) -> None:
        self.keyframes_asked = 0

    def request_keyframe(self) -> None:
        self.keyframes_asked += 1


def _frame(number: int, keyframe: bool) -> av.Packet:
    packet = av.Packet(bytes([number]) * 100)
    packet.pts, packet.is_keyframe = number, keyframe
    return packet


def test_a_backed_up_edge_loses_video_up_to_a_keyframe_not_the_origins_memory() -> None:
    socket, track = _Socket(), _VideoTrack()
    outlet = _Outlet(0, track, SimpleNamespace(transport=socket))  # type: ignore[arg-type]
    outlet(_frame(1, keyframe=True))
    socket.backlog = MAX_BUFFERED + 1  # the edge stopped reading
    outlet(_frame(2, keyframe=False))
    socket.backlog = 0  # it caught up, but frame 2 is gone: deltas until a keyframe are useless
    outlet(_frame(3, keyframe=False))
    outlet(_frame(4, keyframe=True))
    outlet(_frame(5, keyframe=False))
    sent = [FRAME.unpack(data[: FRAME.size]) for data in socket.frames]
    assert [(pts, flags) for _, flags, pts, _ in sent] == [(1, 1), (4, 1), (5, 0)]
    assert all(len(data) == FRAME.size + 100 for data in socket.frames)
    assert track.keyframes_asked == 1  # so the edge is not left waiting for the next one
