"""Fan one published track out to many viewers, encoded, packetized once, unbuffered.

Each frame is split into RTP payloads once (``packing.Packetizer``) and written at once to
every connected viewer by its ``accel.rtp_writer.RtpWriter``: no task, queue or copy of
the frame per viewer (where that fast path does not run, each viewer's aiortc sender
takes the frames from a short queue). A viewer starts at a keyframe, so its decoder never
sees a frame whose reference is missing, and a keyframe is asked of the publisher when
one joins. Those requests are
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

from sidestage.realtime.media.packing import PackedFrame, Packetizer

KEYFRAME_INTERVAL = 0.5  # seconds: at most one upstream keyframe request per track
MAX_BACKLOG = {"video": 3, "audio": 5}  # frames waiting before the forwarder catches up
YIELD_EVERY = 64  # viewers written between yields, so other tracks' frames interleave
QUEUED = 8  # frames waiting for a viewer's aiortc sender (where RtpWriter does not run)
AUDIO_STEP = 960  # one 20 ms Opus frame at 48 kHz: after a switch, time goes on by this

log = logging.getLogger(__name__)


class PacketSource(Protocol):
    """Where a forwarder reads encoded frames: ``accel.receiving.EncodedSource``."""

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
    """Sends packed frames to one viewer: ``accel.rtp_writer.RtpWriter``."""

    def write(self, frame: PackedFrame) -> int | None:
        """The RTP timestamp the frame went out with; None if the viewer is not connected."""
        ...

    def switched(self) -> None:
        """The next frame comes from another source: its timestamps follow on from the
        last frame sent, whatever clock the new source counts in."""
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
        # Called as the track ends, before its viewers are: a listener switched here from
        # another source (an interpretation channel) goes back to the floor, not silent.
        self.before_end: Callable[[], None] | None = None
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

    def hand_over(self, viewer: ViewerTrack, to: Forwarder) -> None:
        """From now on ``viewer`` gets ``to``'s frames instead of this one's, on the same
        connection (no renegotiation): a listener changing language. Audio only: every
        Opus frame stands alone, so the next one plays at once."""
        if to is self or viewer not in self._viewers or to.ended.is_set():
            return
        if viewer.kind != "audio" or to.kind != "audio":
            raise ValueError("only sound changes source")
        self._viewers.discard(viewer)
        to._viewers.add(viewer)
        viewer._moved_to(to)

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
        if self.before_end is not None:
            try:
                self.before_end()
            except Exception:
                log.exception("moving listeners off an ending track failed")
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
    returns only when the track ends, so the sender's own loop idles. Or, where the
    writer does not run (``through_sender``), ``recv()`` hands the sender each frame to
    packetize and send itself, from a queue of at most ``QUEUED`` frames.
    """

    def __init__(self, forwarder: Forwarder) -> None:
        super().__init__()
        self.kind = forwarder.kind
        self.sent = 0
        # With each frame sent: its RTP timestamp to this viewer (or, through the sender,
        # the frame's own, from the first frame).
        self.on_frame_sent: Callable[[int], None] | None = None
        self._forwarder = forwarder
        self._video = forwarder.kind == "video"
        self._open_writer: Callable[[], FrameWriter] | None = None
        self._writer: FrameWriter | None = None
        self._ended = asyncio.Event()
        self._pulling = False
        self._need_keyframe = self._video
        self._queue: asyncio.Queue[av.Packet | None] | None = None
        self._pts_shift: int | None = 0  # queued frames: None until a switch is rebased
        self._last_pts = 0

    def bind(self, open_writer: Callable[[], FrameWriter]) -> None:
        """How to reach the viewer, called when its sender has started."""
        self._open_writer = open_writer

    @property
    def forwarder(self) -> Forwarder:
        """Where this viewer's frames come from now."""
        return self._forwarder

    def _moved_to(self, forwarder: Forwarder) -> None:
        self._forwarder = forwarder
        if self._writer is not None:
            self._writer.switched()
        self._pts_shift = None  # the next queued frame continues from the last one

    def through_sender(self) -> None:
        """Hand frames to the viewer's aiortc sender through ``recv()``."""
        self._queue = asyncio.Queue(QUEUED)

    async def recv(self) -> av.Packet:
        if not self._pulling:
            self._pulling = True
            self._want_keyframe()
        if self._queue is not None and not self._ended.is_set():
            packet = await self._queue.get()
            if packet is not None:
                return packet
        await self._ended.wait()
        raise MediaStreamError

    def stop(self) -> None:
        super().stop()
        self._forwarder._remove(self)
        self._ended.set()
        if self._queue is not None and self._queue.empty():
            self._queue.put_nowait(None)  # wakes a recv() waiting for a frame

    def _offer(self, frame: PackedFrame) -> None:
        if not self._pulling or (self._need_keyframe and not frame.keyframe):
            return  # not connected yet, or waiting for a frame it can start from
        if self._queue is not None:
            self._queue_frame(frame)
        elif self._open_writer is not None:
            self._write(frame, self._open_writer)

    def _write(self, frame: PackedFrame, open_writer: Callable[[], FrameWriter]) -> None:
        self._need_keyframe = False
        try:
            if self._writer is None:
                self._writer = open_writer()
            timestamp = self._writer.write(frame)
        except Exception:
            # One viewer's broken connection must not stop the stage for the others.
            log.exception("writing to a viewer failed; its track is ended")
            self.stop()
            return
        if timestamp is not None:
            self._count(timestamp)

    def _queue_frame(self, frame: PackedFrame) -> None:
        """For the sender's next ``recv()``; a sender that fell behind by ``QUEUED``
        frames starts again from the next keyframe instead of sending them late."""
        assert self._queue is not None
        self._need_keyframe = False
        if self._queue.full():
            while not self._queue.empty():
                self._queue.get_nowait()
            self._want_keyframe()
            return
        self._queue.put_nowait(self._continued(frame.source))
        self._count(frame.timestamp)

    def _continued(self, packet: av.Packet) -> av.Packet:
        """``packet``, its time shifted to follow the last one sent after a change of
        source (aiortc's sender stamps each with its own time)."""
        pts = packet.pts or 0
        if self._pts_shift is None:
            self._pts_shift = self._last_pts + AUDIO_STEP - pts
        self._last_pts = pts + self._pts_shift
        if not self._pts_shift:
            return packet
        shifted = av.Packet(bytes(packet))
        shifted.pts, shifted.time_base = self._last_pts, packet.time_base
        return shifted

    def _count(self, timestamp: int) -> None:
        self.sent += 1
        if self.on_frame_sent is not None:
            self.on_frame_sent(timestamp)

    def _want_keyframe(self) -> None:
        if self._video:
            self._need_keyframe = True
            self._forwarder.request_keyframe()
