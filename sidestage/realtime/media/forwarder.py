"""Fan one published track out to many viewers, encoded, without buffering.

Each viewer holds at most the latest frame: a slow viewer skips frames instead of
growing a queue. Video viewers that skip (or just joined) wait for the next keyframe, so
their decoder never sees a frame whose reference is missing, and a keyframe is asked of
the publisher. Those requests are coalesced to at most one per ``keyframe_interval``.
Consumers that must see every frame (the recorder) ``subscribe`` a callback instead.
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

KEYFRAME_INTERVAL = 0.5  # seconds: at most one upstream keyframe request per track

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


@dataclass
class ForwarderStats:
    frames_in: int = 0
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
                for viewer in list(self._viewers):
                    viewer._offer(packet)
        except MediaStreamError:
            pass  # the publisher's track ended
        finally:
            self._end_viewers()

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
    """A track for one viewer's RTCRtpSender; ``recv()`` returns the latest ``av.Packet``."""

    def __init__(self, forwarder: Forwarder) -> None:
        super().__init__()
        self.kind = forwarder.kind
        self.sent = 0
        self.skipped = 0
        self._forwarder = forwarder
        self._video = forwarder.kind == "video"
        self._latest: av.Packet | None = None
        self._wake = asyncio.Event()
        self._pulling = False
        self._need_keyframe = self._video

    async def recv(self) -> av.Packet:
        if not self._pulling:
            # The sender pulls once the viewer is connected: that is when it joins.
            self._pulling = True
            self._want_keyframe()
        while self._latest is None:
            if self.readyState != "live":
                raise MediaStreamError
            await self._wake.wait()
            self._wake.clear()
        packet, self._latest = self._latest, None
        self.sent += 1
        return packet

    def stop(self) -> None:
        super().stop()
        self._forwarder._remove(self)
        self._wake.set()

    def _offer(self, packet: av.Packet) -> None:
        if not self._pulling:
            return  # not connected yet: nothing to hold
        if self._video and self._need_keyframe and not packet.is_keyframe:
            return
        if self._latest is not None:
            self.skipped += 1
            if self._video and not packet.is_keyframe:
                # Keep the older frame (its references were sent); later ones are not
                # decodable without the one we skip, so wait for a keyframe.
                self._want_keyframe()
                return
        self._need_keyframe = False
        self._latest = packet
        self._wake.set()

    def _want_keyframe(self) -> None:
        if self._video:
            self._need_keyframe = True
            self._forwarder.request_keyframe()
