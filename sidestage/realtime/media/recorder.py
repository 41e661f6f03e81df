"""Record a session's stage: the forwarded frames remuxed into one file, never transcoded.

A ``Recorder`` subscribes to the stage's forwarders (``Forwarder.subscribe``: every
frame, unlike a viewer it never skips) and muxes the encoded frames with PyAV into WebM
(VP8 + Opus) or Matroska (H264, which WebM cannot hold). No output stream has a codec
context that is ever opened: nothing is decoded or encoded.

Timing: ``accel.receiving`` counts each track's pts from that track's own first RTP timestamp, so
tracks share no clock (the RTCP sender reports that would give one are not exposed).
Each track is anchored to the server's clock on the first frame the recorder receives
from it, then follows its own media timestamps: no drift within a track, and tracks in
sync to within the difference of their network and encoding delays (tens of ms). The
file starts at 0 with the first frame written, once every video track has sent a
keyframe (its size goes in the header; the recorder asks for one when it subscribes).

Joining and leaving: a forwarder that ended frees its stream; ``attach`` gives a new
publisher's forwarders the free streams of the same kind and codec, so a speaker who
reconnects continues the same file after a gap. ``stop`` flushes and closes the file.

Frames are written synchronously in the forwarder's drain loop: one frame is a few
kilobytes into the muxer's buffer, cheaper than handing it to a thread. A write that
fails (disk full) is logged by the forwarder, which drops that subscription and keeps
serving viewers; ``stop`` still closes what was written.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import re
import struct
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

import av
from av.container import OutputContainer
from av.stream import Stream

from sidestage.realtime.media.forwarder import Forwarder
from sidestage.realtime.media.frame_size import frame_size

RECORDINGS_DIR = "recordings"
TIME_BASE = Fraction(1, 1000)  # Matroska's own unit: muxing in it leaves nothing to round
_STAMP = "%Y%m%dT%H%M%SZ"
# session-<id>-<UTC start>[-<language>][-<n>].<ext>: an interpretation channel names its language.
_NAME = re.compile(
    r"session-(\d+)-(\d{8}T\d{6}Z)(?:-([a-z]{2,3}(?:-[A-Za-z0-9]{2,8})?))?(?:-\d+)?\.(webm|mkv)"
)
# Opus ID header (RFC 7845), which WebM players require as CodecPrivate: version 1, two
# channels (WebRTC's opus/48000/2), no pre-skip (the recording starts mid-stream
# anyway), 48 kHz, 0 dB gain, channel mapping family 0.
OPUS_HEAD = b"OpusHead" + struct.pack("<BBHIhB", 1, 2, 0, 48000, 0, 0)
RECORDABLE = frozenset({"vp8", "h264", "opus"})


class Recording(NamedTuple):
    session_id: int
    path: Path
    size: int
    started_at: datetime
    language: str | None = None  # an interpretation channel's; None: the floor


def list_recordings(data_dir: Path, session_id: int | None = None) -> list[Recording]:
    """Recordings under ``data_dir``, oldest first (one still being written included)."""
    folder = data_dir / RECORDINGS_DIR
    found = []
    for path in folder.glob("session-*") if folder.is_dir() else ():
        match = _NAME.fullmatch(path.name)
        if match is None or session_id not in (None, int(match[1])):
            continue
        started = datetime.strptime(match[2], _STAMP).replace(tzinfo=UTC)
        try:
            size = path.stat().st_size
            found.append(Recording(int(match[1]), path, size, started, match[3]))
        except FileNotFoundError:
            continue  # deleted meanwhile
    return sorted(found, key=lambda r: (r.started_at, r.path.name))


@dataclass
class _Feed:
    """One forwarder feeding a slot."""

    forwarder: Forwarder
    need_keyframe: bool
    offset: float | None = None  # server clock minus media time, from the first frame
    unsubscribe: Callable[[], None] = lambda: None

    @property
    def live(self) -> bool:
        return not self.forwarder.ended.is_set()


@dataclass
class _Slot:
    """One output stream, fed by one forwarder at a time."""

    kind: str
    codec: str
    size: tuple[int, int] | None = None  # video: from the first keyframe, for the header
    stream: Stream | None = None
    last_ms: int = -1
    feed: _Feed | None = None

    def free_for(self, forwarder: Forwarder) -> bool:
        return (
            (forwarder.kind, forwarder.codec.name.lower()) == (self.kind, self.codec)
            and (self.feed is None or not self.feed.live)
            and not forwarder.ended.is_set()
        )


class Recorder:
    """Records a stage's forwarders into ``{data_dir}/recordings/session-{id}-{UTC}.ext``."""

    def __init__(
        self,
        data_dir: Path,
        session_id: int,
        forwarders: Iterable[Forwarder],
        clock: Callable[[], float] = time.monotonic,
        language: str | None = None,
    ) -> None:
        forwarders = list(forwarders)
        self.session_id = session_id
        self.language = language  # an interpretation channel's file names it
        self.path: Path | None = None  # set when the first frame is written
        self.written: Counter[str] = Counter()  # frames in the file, by kind
        self._folder = data_dir / RECORDINGS_DIR
        self._clock = clock
        self._slots = [_Slot(f.kind, _codec_name(f)) for f in forwarders]
        self._format, self._ext = _container_for(s.codec for s in self._slots)
        self._output: OutputContainer | None = None
        self._origin: float | None = None
        self._stopped = False
        self._progress = asyncio.Event()
        self.attach(forwarders)

    def attach(self, forwarders: Iterable[Forwarder]) -> list[Forwarder]:
        """Feed free streams from ``forwarders``; returns those that found none."""
        left = []
        for forwarder in forwarders:
            slot = next((s for s in self._slots if self._usable(s) and s.free_for(forwarder)), None)
            if slot is None:
                left.append(forwarder)
            else:
                self._feed(slot, forwarder)
        return left

    def follow(self, forwarder: Forwarder) -> None:
        """Record ``forwarder`` instead of what feeds its stream now (an interpreter who
        takes over the channel), on the same timeline."""
        slot = next((s for s in self._slots if (s.kind, s.codec) == _slot_of(forwarder)), None)
        if slot is not None and self._usable(slot) and not forwarder.ended.is_set():
            self._feed(slot, forwarder)

    async def wait_for(self, kind: str, count: int) -> None:
        """Until ``count`` frames of ``kind`` are in the file (wrap in a timeout)."""
        while self.written[kind] < count:
            self._progress.clear()
            await self._progress.wait()

    def stop(self) -> Path | None:
        """Stop, flush and close the file; its path, or None if nothing was recorded."""
        if not self._stopped:
            self._stopped = True
            for slot in self._slots:
                if slot.feed is not None:
                    slot.feed.unsubscribe()
            if self._output is not None:
                self._output.close()  # writes the trailer: duration and seek index
        return self.path if self.path is not None and self.path.exists() else None

    def _usable(self, slot: _Slot) -> bool:
        # Once the file is open, a video stream left without a size has no stream at all.
        return not self._stopped and (self._output is None or slot.stream is not None)

    def _feed(self, slot: _Slot, forwarder: Forwarder) -> None:
        if slot.feed is not None:
            slot.feed.unsubscribe()
        feed = _Feed(forwarder, need_keyframe=slot.kind == "video")
        slot.feed = feed
        feed.unsubscribe = forwarder.subscribe(lambda packet: self._receive(slot, feed, packet))
        forwarder.request_keyframe()

    def _receive(self, slot: _Slot, feed: _Feed, packet: av.Packet) -> None:
        assert packet.pts is not None and packet.time_base is not None
        media = float(packet.pts * packet.time_base)
        if feed.offset is None:
            feed.offset = self._clock() - media
        if not self._admit(slot, feed, packet):
            return
        if self._output is None and not self._open():
            feed.need_keyframe = slot.kind == "video"  # this keyframe is not written
            return
        self._write(slot, packet, media + feed.offset)

    def _admit(self, slot: _Slot, feed: _Feed, packet: av.Packet) -> bool:
        """Video starts at a keyframe, whose size the header needs."""
        if slot.kind != "video" or not feed.need_keyframe:
            return True
        size = frame_size(slot.codec, bytes(packet)) if packet.is_keyframe else None
        if size is None:
            feed.forwarder.request_keyframe()  # coalesced by the forwarder
            return False
        slot.size = slot.size or size  # later size changes travel in-band, in keyframes
        feed.need_keyframe = False
        return True

    def _open(self) -> bool:
        """Create the file once every live video feed has given its size."""
        live = [s for s in self._slots if s.feed is not None and s.feed.live]
        if any(s.kind == "video" and s.size is None for s in live):
            return False
        self.path = self._new_path()
        output = av.open(str(self.path), "w", format=self._format)
        for slot in self._slots:
            if slot.kind == "audio" or slot.size is not None:
                slot.stream = _add_stream(output, slot)
        self._output = output
        return True

    def _write(self, slot: _Slot, packet: av.Packet, wall: float) -> None:
        assert self._output is not None and slot.stream is not None
        if self._origin is None:
            self._origin = wall
        # Strictly increasing per stream, even across a rejoin or a clock step.
        ms = max(round((wall - self._origin) * 1000), slot.last_ms + 1)
        # A new packet: the forwarded one is shared with every viewer.
        out = av.Packet(bytes(packet))
        out.stream = slot.stream
        out.pts = out.dts = ms
        out.time_base = TIME_BASE
        out.is_keyframe = packet.is_keyframe
        self._output.mux(out)
        slot.last_ms = ms
        self.written[slot.kind] += 1
        self._progress.set()

    def _new_path(self) -> Path:
        self._folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime(_STAMP)
        for n in itertools.count(1):
            suffix = (f"-{self.language}" if self.language else "") + (f"-{n}" if n > 1 else "")
            path = self._folder / f"session-{self.session_id}-{stamp}{suffix}.{self._ext}"
            try:
                path.touch(exist_ok=False)  # claims the name against a recorder started now
            except FileExistsError:
                continue
            return path
        raise AssertionError("unreachable")


def _slot_of(forwarder: Forwarder) -> tuple[str, str]:
    return forwarder.kind, forwarder.codec.name.lower()


def _codec_name(forwarder: Forwarder) -> str:
    name = forwarder.codec.name.lower()
    if name not in RECORDABLE:
        raise ValueError(f"cannot record {forwarder.codec.mimeType}")
    return name


def _container_for(codecs: Iterable[str]) -> tuple[str, str]:
    """(format, extension): WebM holds VP8 and Opus; H264 needs Matroska."""
    return ("matroska", "mkv") if "h264" in set(codecs) else ("webm", "webm")


def _add_stream(output: OutputContainer, slot: _Slot) -> Stream:
    if slot.kind == "audio":
        return _add_opus_stream(output)
    assert slot.size is not None
    width, height = slot.size
    # No codec context: packets are muxed as they are. For H264, PyAV takes the
    # extradata (SPS/PPS) from the first packet, a keyframe carrying them in-band.
    return output.add_mux_stream(slot.codec, width=width, height=height, time_base=TIME_BASE)


def _add_opus_stream(output: OutputContainer) -> Stream:
    # A mux-only stream cannot carry extradata or a channel count; a stream copied from a
    # template can. The template's codec context is allocated, never opened, and so is
    # the copy's (PyAV does not open contexts made from templates): no encoder runs.
    scratch = av.open(io.BytesIO(), "w", format="matroska")
    try:
        template = scratch.add_stream("libopus", rate=48000)
        stream = output.add_stream_from_template(template, opaque=True)
    finally:
        scratch.close()
    assert stream.codec_context is not None
    stream.codec_context.extradata = OPUS_HEAD
    stream.time_base = TIME_BASE
    return stream
