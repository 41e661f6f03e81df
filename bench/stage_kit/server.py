"""The server process, the measured side: the Sidestage forwarder or aiortc's MediaRelay.

It holds the publisher's receiving peer and the sending side of every viewer peer; its CPU
(``time.process_time()``, all threads) is what viewers per core divides by. In the
``relayed`` setup a second one, an edge, holds no publisher: it relays the first one's
forwarders (``sidestage.realtime.media.relay``, over TCP on loopback) to its own viewers.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiortc import RTCPeerConnection, RTCRtpTransceiver, RTCSessionDescription
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamTrack

from sidestage.realtime.media.accel import receiving
from sidestage.realtime.media.forwarder import Forwarder, ViewerTrack
from sidestage.realtime.media.peers import (
    Publisher,
    ViewerPeer,
    accept_publisher,
    codec_preferences,
    offer_to_viewer,
)
from sidestage.realtime.media.relay import Published, Relay, RelayServer

from .aiortc_patches import (
    RtpPacket,
    jitter_buffer,
    note_frame_ends,
    replace_jitter_buffer,
    stop_noting,
)
from .child_processes import sdp_from_json, sdp_to_json
from .common import CONFIG, BenchError, FrameLog, Handler, JsonDict, between

RELAYED = "bench"  # the one publication's id, as the edge asks the origin for it
RELAY_SECRET = b"stage bench relay"


class Stamped:
    """Wraps the server receiver's jitter buffer to note when each frame's last packet came."""

    def __init__(self, inner: Any, kind: str, log: FrameLog) -> None:
        self._inner = inner
        self._video = kind == "video"
        self._log = log

    def add(self, packet: RtpPacket) -> Any:
        if packet.marker or not self._video:  # audio: every packet is a frame
            self._log.append((packet.timestamp, time.time()))
        return self._inner.add(packet)


class ServerRole:
    """The measured side: the publisher's receiver, forwarder or relay, viewers' senders."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.arrivals: dict[str, FrameLog] = {"video": [], "audio": []}
        self.viewer_pcs: list[RTCPeerConnection] = []
        self._publisher: Publisher | None = None
        self._forwarders: list[Forwarder] | None = None  # the publisher's, or relayed ones
        self._relay_server: RelayServer | None = None
        self._relay: Relay | None = None
        self._relay_pc: RTCPeerConnection | None = None
        self._relay = MediaRelay()
        self._sources: list[tuple[MediaStreamTrack, Any]] = []
        self._pending: list[ViewerPeer | RTCPeerConnection] = []
        self._watched: list[tuple[Any, FrameLog]] = []
        self._channel: Forwarder | None = None  # the interpreted setup's second sound

    def handlers(self) -> dict[str, Handler]:
        return {
            "publish": self.publish,
            "offers": self.offers,
            "answers": self.answers,
            "wait": self.wait,
            "sample": self.sample,
            "arrivals": self.arrivals_between,
            "watch": self.watch,
            "unwatch": self.unwatch,
            "serve_relay": self.serve_relay,
            "follow": self.follow,
            "switch": self.switch,
        }

    # ------------------------------------------------------------------ the publisher

    async def publish(self, request: JsonDict) -> JsonDict:
        offer = sdp_from_json(request["offer"])
        if self.mode == "forwarder":
            self._publisher, answer = await accept_publisher(offer, CONFIG)
            self._forwarders = self._publisher.forwarders
            pc = self._publisher.pc
            if request.get("interpreted"):  # viewers get the floor; the channel comes later
                self._forwarders, (self._channel,) = self._forwarders[:1], self._forwarders[1:]
        else:
            pc = self._relay_pc = RTCPeerConnection(CONFIG)
            await pc.setRemoteDescription(offer)
            for transceiver in pc.getTransceivers():
                transceiver.direction = "recvonly"
                codec = receiving.negotiated_codec(transceiver)
                self._sources.append((transceiver.receiver.track, codec))
            await pc.setLocalDescription(await pc.createAnswer())
            answer = pc.localDescription
        # The interpreted setup counts the channel's frames: the ones its viewers get.
        counted = pc.getTransceivers()[-1:] if self._channel else pc.getTransceivers()
        for transceiver in counted:
            self._stamp(transceiver)
        return sdp_to_json(answer)

    def _stamp(self, transceiver: RTCRtpTransceiver) -> None:
        receiver = transceiver.receiver
        stamped = Stamped(
            jitter_buffer(receiver), transceiver.kind, self.arrivals[transceiver.kind]
        )
        replace_jitter_buffer(receiver, stamped)

    async def serve_relay(self, request: JsonDict) -> str:
        """Serve the publication to an edge; returns the address to give it."""
        forwarders = self._forwarders
        assert forwarders is not None, "publish first"
        published = Published(1, 1, "camera", [f.codec for f in forwarders])
        self._relay_server = RelayServer(
            lambda wanted: (published, forwarders) if wanted == RELAYED else None, RELAY_SECRET
        )
        return await self._relay_server.start()

    async def follow(self, request: JsonDict) -> None:
        """Be an edge: relay the publication from the server at ``address``."""
        self._relay = await Relay.open(request["address"], RELAYED, RELAY_SECRET)
        self._forwarders = self._relay.forwarders

    async def wait(self, request: JsonDict) -> None:
        """Until the publisher's media arrives (the baseline needs it; no viewers yet)."""
        log = self.arrivals[request["kind"]]
        deadline = time.monotonic() + request["timeout"]
        while len(log) < request["count"]:
            if time.monotonic() > deadline:
                raise BenchError(f"the publisher's {request['kind']} never reached the server")
            await asyncio.sleep(0.05)  # polling a counter: the media has no event to wait on

    async def arrivals_between(self, request: JsonDict) -> FrameLog:
        return between(self.arrivals[request["kind"]], request["since"], request["until"])

    # ------------------------------------------------------------------ the viewers

    async def offers(self, request: JsonDict) -> list[JsonDict]:
        made = await asyncio.gather(*(self._offer() for _ in range(request["count"])))
        self._pending = list(made)
        return [sdp_to_json(self._pc(v).localDescription) for v in made]

    async def _offer(self) -> ViewerPeer | RTCPeerConnection:
        if self._forwarders is not None:
            return await offer_to_viewer(self._forwarders, CONFIG)
        pc = RTCPeerConnection(CONFIG)
        for track, codec in self._sources:
            # Unbuffered: like the forwarder, a viewer that falls behind gets the latest frame.
            relayed = self._relay.subscribe(track, buffered=False)
            pc.addTransceiver(relayed, direction="sendonly").setCodecPreferences(
                codec_preferences(codec)
            )
        await pc.setLocalDescription(await pc.createOffer())
        return pc

    @staticmethod
    def _pc(viewer: ViewerPeer | RTCPeerConnection) -> RTCPeerConnection:
        return viewer.pc if isinstance(viewer, ViewerPeer) else viewer

    async def answers(self, request: JsonDict) -> None:
        pending, self._pending = self._pending, []
        self.viewer_pcs += [self._pc(v) for v in pending]
        await asyncio.gather(
            *(
                self._accept(v, sdp_from_json(a))
                for v, a in zip(pending, request["answers"], strict=True)
            )
        )

    @staticmethod
    async def _accept(
        viewer: ViewerPeer | RTCPeerConnection, answer: RTCSessionDescription
    ) -> None:
        if isinstance(viewer, ViewerPeer):
            await viewer.accept_answer(answer)  # also checks the codec was kept
        else:
            await viewer.setRemoteDescription(answer)

    async def switch(self, request: JsonDict) -> list[float]:
        """Hand every viewer's sound from the floor to the channel, or back: the seconds
        from each hand-over to its first frame from the new source leaving for the viewer."""
        floor, channel = (self._forwarders or [None])[0], self._channel
        assert floor is not None and channel is not None, "an interpreted setup publishes both"
        to, away = (channel, floor) if request["to"] == "channel" else (floor, channel)
        tracks = [t for t in away.viewers]
        firsts: list[asyncio.Future[float]] = []
        loop = asyncio.get_running_loop()
        for track in tracks:
            first: asyncio.Future[float] = loop.create_future()
            firsts.append(first)
            switched = time.perf_counter()

            def noted(_timestamp: int, first=first, switched=switched, track=track) -> None:
                if not first.done():
                    first.set_result(time.perf_counter() - switched)
                    track.on_frame_sent = None

            track.on_frame_sent = noted
            away.hand_over(track, to)
        return list(await asyncio.wait_for(asyncio.gather(*firsts), 10))

    # ------------------------------------------------------------------ measuring

    async def sample(self, request: JsonDict) -> JsonDict:
        """CPU and counters; getStats is kept outside the window (before start, after end)."""
        if request["edge"] == "start":
            packets = await self._packets_sent()
            cpu, wall = time.process_time(), time.time()
        else:
            cpu, wall = time.process_time(), time.time()
            packets = await self._packets_sent()
        frames = {kind: len(log) for kind, log in self.arrivals.items()}
        return {"cpu": cpu, "wall": wall, "packets": packets, "frames": frames}

    async def _packets_sent(self) -> int:
        senders = [t.sender for pc in self.viewer_pcs for t in pc.getTransceivers()]
        reports = await asyncio.gather(*(s.getStats() for s in senders))
        return sum(
            stats.packetsSent
            for report in reports
            for stats in report.values()
            if getattr(stats, "type", "") == "outbound-rtp"
        )

    async def watch(self, request: JsonDict) -> None:
        """Note when frames leave for these viewers (off while CPU is measured)."""
        for index in request["viewers"]:
            video = [t for t in self.viewer_pcs[index].getTransceivers() if t.kind == "video"]
            log: FrameLog = []
            track = video[0].sender.track
            if isinstance(track, ViewerTrack):  # the forwarder writes frames itself
                track.on_frame_sent = lambda timestamp, log=log: log.append(
                    (timestamp, time.time())
                )
                self._watched.append((track, log))
            else:
                self._watched.append((note_frame_ends(video[0], log), log))

    async def unwatch(self, request: JsonDict) -> list[FrameLog]:
        watched, self._watched = self._watched, []
        for noted, _ in watched:
            if isinstance(noted, ViewerTrack):
                noted.on_frame_sent = None
            else:
                stop_noting(noted)
        return [log for _, log in watched]

    async def close(self, request: JsonDict) -> None:
        if self._relay is not None:
            await self._relay.close()
        if self._relay_server is not None:
            await self._relay_server.close()
        await asyncio.gather(*(pc.close() for pc in self.viewer_pcs))
        if self._publisher is not None:
            await self._publisher.close()
        if self._relay_pc is not None:
            await self._relay_pc.close()
