"""Fan one published track out to many viewers, encoded, packetized once, unbuffered.

Each frame is split into RTP payloads once (``hooks.Packetizer``) and written at once to
every connected viewer by its ``hooks.RtpWriter``: no task, queue or copy of the frame per
viewer. A viewer starts at a keyframe, so its decoder never sees a frame whose reference
is missing, and a keyframe is asked of the publisher when one joins. Those requests are
coalesced to at most one per ``keyframe_interval``. When fan-out falls behind the
publisher, the forwarder drops frames (video: up to the next keyframe, which it asks for)
instead of letting them queue. Consumers that must see every frame (the recorder)
``subscribe`` a callback instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import av
from aiortc import RTCRtpCodecParameters
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from sidestage.realtime.media.hooks import PackedFrame, Packetizer

KEYFRAME_INTERVAL = 0.5  # seconds: at most one upstream keyframe request per track
MAX_BACKLOG = {"video": 3, "audio": 5}  # frames waiting before the forwarder catches up
YIELD_EVERY = 64  # viewers written between yields, so other tracks' frames interleave

log = logging.getLogger(__name__)


class PacketSource(Protocol):
    """Where a forwarder reads encoded frames: ``hooks.EncodedSource`` in production."""

    @property
    def kind(self) -> str: ...

    @property
    def codec(self) -> RTCRtpCodecParameters: ...

    @property
    def track(self) -> MediaStreamTrack: ...

    async def send_pli(self) -> bool: ...

    def pending(self) -> int:
        """Frames received and not yet read from ``track``."""
        ...


class FrameWriter(Protocol):
    """Sends packed frames to one viewer: ``hooks.RtpWriter`` in production."""

    def write(self, frame: PackedFrame) -> int | None:
        """The RTP timestamp the frame went out with; None if the viewer is not connected."""
        ...


@dataclass
class ForwarderStats:
    frames_in: int = 0
    frames_dropped: int = 0  # fan-out fell behind: skipped for every viewer
    keyframe_requests: int = 0


class Forwarder:
    """One published track, drained from the start, fanned out to ``ViewerTrack``s."""

    def __init__(self, source: PacketSource, keyframe_interval: float = KEYFRAME_INTERVAL) -> None:
        self.kind = source.kind
        self.codec = source.codec
        self.stats = ForwarderStats()
        self.ended = asyncio.Event()
        self._source = source
        self._interval = keyframe_interval
        self._viewers: set[ViewerTrack] = set()
        self._subscribers: list[Callable[[av.Packet], None]] = []
        self._keyframe_wanted = asyncio.Event()
        self._packetizer = Packetizer(source.codec)
        self._catching_up = False
        # Draining starts now, so the publisher's frames never pile up in aiortc's queue.
        self._drain_task = asyncio.create_task(self._drain())
        self._keyframe_task = asyncio.create_task(self._request_keyframes())

    @property
    def viewers(self) -> frozenset[ViewerTrack]:
        return frozenset(self._viewers)

    def add_viewer(self) -> ViewerTrack:
        if self.ended.is_set():
            raise MediaStreamError("the published track has ended")
        viewer = ViewerTrack(self)
        self._viewers.add(viewer)
        return viewer

    def subscribe(self, receive: Callable[[av.Packet], None]) -> Callable[[], None]:
        """Call ``receive`` with every frame from now on; returns the unsubscribe function.

        For consumers that must not skip frames (the recorder), unlike ``ViewerTrack``:
        ``receive`` runs inside the drain loop, so it must be quick and must not block.
        The end of the track is ``ended``.
        """
        if self.ended.is_set():
            raise MediaStreamError("the published track has ended")
        self._subscribers.append(receive)
        return lambda: self._unsubscribe(receive)

    def request_keyframe(self) -> None:
        """Ask the publisher for a keyframe, coalesced with other requests (audio: no-op)."""
        if self.kind == "video":
            self._keyframe_wanted.set()

    async def stop(self) -> None:
        for task in (self._drain_task, self._keyframe_task):
            task.cancel()
        for task in (self._drain_task, self._keyframe_task):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._end_viewers()

    def _remove(self, viewer: ViewerTrack) -> None:
        self._viewers.discard(viewer)

    def _unsubscribe(self, receive: Callable[[av.Packet], None]) -> None:
        with contextlib.suppress(ValueError):
            self._subscribers.remove(receive)

    def _notify(self, packet: av.Packet) -> None:
        for receive in list(self._subscribers):
            try:
                receive(packet)
            except Exception:
                # A failing subscriber must not stop the stage for every viewer.
                log.exception("forwarder subscriber failed; unsubscribed")
                self._unsubscribe(receive)

    async def _drain(self) -> None:
        try:
            while True:
                packet = await self._source.track.recv()
                if not isinstance(packet, av.Packet):
                    raise TypeError("forwarded tracks must yield av.Packet (install the hook)")
                self.stats.frames_in += 1
                self._notify(packet)
                if self._viewers and self._keep(packet):
                    await self._fan_out(self._packetizer.pack(packet))
        except MediaStreamError:
            pass  # the publisher's track ended
        finally:
            self._end_viewers()

    def _keep(self, packet: av.Packet) -> bool:
        """False for a frame dropped because fan-out fell behind the publisher."""
        if self.kind == "video" and packet.is_keyframe:
            self._catching_up = False  # decodable on its own: the way back in
        elif self._catching_up or self._source.pending() > MAX_BACKLOG[self.kind]:
            # Video deltas refer to the frames dropped before them: drop up to a keyframe.
            self._catching_up = self.kind == "video"
            self.request_keyframe()
            self.stats.frames_dropped += 1
            return False
        return True

    async def _fan_out(self, frame: PackedFrame) -> None:
        for index, viewer in enumerate(list(self._viewers), 1):
            viewer._offer(frame)
            if index % YIELD_EVERY == 0:
                await asyncio.sleep(0)

    def _end_viewers(self) -> None:
        self.ended.set()
        for viewer in list(self._viewers):
            viewer.stop()

    async def _request_keyframes(self) -> None:
        while True:
            await self._keyframe_wanted.wait()
            self._keyframe_wanted.clear()
            if await self._source.send_pli():
                self.stats.keyframe_requests += 1
            else:
                self._keyframe_wanted.set()  # no media yet: retry after the interval
            # Throttle: requests made meanwhile coalesce into the next single one.
            await asyncio.sleep(self._interval)


class ViewerTrack(MediaStreamTrack):
    """One viewer's copy of a forwarded track, the track of that viewer's RTCRtpSender.

    Frames do not pass through ``recv()``: the sender calls it once it has started, that
    is once the viewer is connected, which is when the viewer joins. From then on the
    forwarder writes each frame straight to the viewer (``bind`` says how). ``recv()``
    returns only when the track ends, so the sender's own loop idles.
    """

    def __init__(self, forwarder: Forwarder) -> None:
        super().__init__()
        self.kind = forwarder.kind
        self.sent = 0
        self.on_frame_sent: Callable[[int], None] | None = None  # RTP timestamp sent
        self._forwarder = forwarder
        self._video = forwarder.kind == "video"
        self._open_writer: Callable[[], FrameWriter] | None = None
        self._writer: FrameWriter | None = None
        self._ended = asyncio.Event()
        self._pulling = False
        self._need_keyframe = self._video

    def bind(self, open_writer: Callable[[], FrameWriter]) -> None:
        """How to reach the viewer, called when its sender has started."""
        self._open_writer = open_writer

    async def recv(self) -> av.Packet:
        if not self._pulling:
            self._pulling = True
            self._want_keyframe()
        await self._ended.wait()
        raise MediaStreamError

    def stop(self) -> None:
        super().stop()
        self._forwarder._remove(self)
        self._ended.set()

    def _offer(self, frame: PackedFrame) -> None:
        if not self._pulling or self._open_writer is None:
            return  # not connected yet
        if self._need_keyframe and not frame.keyframe:
            return
        self._need_keyframe = False
        try:
            if self._writer is None:
                self._writer = self._open_writer()
            timestamp = self._writer.write(frame)
        except Exception:
            # One viewer's broken connection must not stop the stage for the others.
            log.exception("writing to a viewer failed; its track is ended")
            self.stop()
            return
        if timestamp is not None:
            self.sent += 1
            if self.on_frame_sent is not None:
                self.on_frame_sent(timestamp)

    def _want_keyframe(self) -> None:
        if self._video:
            self._need_keyframe = True
            self._forwarder.request_keyframe()
