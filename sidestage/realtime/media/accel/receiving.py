"""The encoded frames of a publisher's tracks, out of aiortc's receiver (aiortc 1.16).

Why: aiortc decodes every received track. Forwarding needs the encoded frames, released as
soon as they are complete, and a way to ask the publisher for a keyframe. aiortc has no
public API for either, so this module reaches in, in as few places as possible
(``aiortc.rtcrtpreceiver``):

- ``RTCRtpReceiver._handle_rtp_packet`` depayloads each packet into ``packet._data`` and
  passes it to ``self.__jitter_buffer.add(packet)`` (``_RTCRtpReceiver__jitter_buffer``),
  which returns ``(pli_flag, frame_or_None)``; a frame goes to the decoder thread
  (``decoder_worker``). We replace the jitter buffer with ``_FrameAssembler``, which
  always returns ``None`` and hands out frames itself, so the decoder thread never gets
  work and never creates a decoder. It still runs idle: on stop, BYE or disconnect it
  puts ``None`` on the track's queue, which is how the track ends.
- ``_RTCRtpReceiver__codecs``: payload type -> negotiated ``RTCRtpCodecParameters``.
- ``RTCRtpReceiver._track._queue``: the ``asyncio.Queue`` read by ``RemoteStreamTrack.recv``;
  we put ``av.Packet`` on it, so the receiver's track yields encoded frames.
- ``RTCRtpReceiver._send_rtcp_pli(media_ssrc)``: sends a Picture Loss Indication upstream.
- ``RTCRtpTransceiver._codecs``: the negotiated codecs; the first non-RTX one is sent.

``missing()`` checks these names (``media.encoded_frames`` in ``accel``); if any is gone,
the stage is unavailable and the rest of Sidestage goes on. ``install_encoded_receiver``
and ``negotiated_codec`` re-check each instance.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
from aiortc import RTCRtpCodecParameters, RTCRtpReceiver, RTCRtpTransceiver
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtp import RtpPacket

from sidestage.platform.fast_paths import lacking, source_lacks

PLI_MIN_INTERVAL = 0.5  # seconds between loss-triggered keyframe requests
VIDEO_MAX_PENDING = 1024  # packets held while waiting for a retransmission
VIDEO_MAX_FRAMES_BEHIND_GAP = 3  # complete frames after a gap before giving it up
H264_START_CODE = b"\x00\x00\x00\x01"

_JITTER_BUFFER = "_RTCRtpReceiver__jitter_buffer"
_RECEIVER_CODECS = "_RTCRtpReceiver__codecs"


class AiortcHookError(RuntimeError):
    """An aiortc instance is not what this module relies on."""


def missing() -> list[str]:
    """The private names above that this process's aiortc lacks."""
    return [
        *lacking(RTCRtpReceiver, "_handle_rtp_packet", "_send_rtcp_pli"),
        *source_lacks(
            RTCRtpReceiver._handle_rtp_packet,
            "self.__jitter_buffer.add(packet)",
            "packet._data = depayload(",
        ),
        *source_lacks(RTCRtpReceiver.__init__, "self.__codecs: dict[int, RTCRtpCodecParameters]"),
        *source_lacks(RTCRtpTransceiver.__init__, "self._codecs"),
    ]


def _fail(reason: str) -> None:
    raise AiortcHookError(f"aiortc's receiver: {reason} (see media/accel/receiving.py)")


@dataclass
class HookStats:
    """What the hook handed out on one receiver (nothing is ever decoded)."""

    frames: int = 0
    keyframes: int = 0
    plis: int = 0


class EncodedSource:
    """A hooked receiver: ``track.recv()`` returns ``av.Packet`` instead of decoded frames."""

    def __init__(self, transceiver: RTCRtpTransceiver) -> None:
        receiver = transceiver.receiver
        self.kind: str = transceiver.kind
        self.codec = negotiated_codec(transceiver)
        self.track: MediaStreamTrack = receiver.track
        self.stats = HookStats()
        self._receiver = receiver
        self._assembler = _FrameAssembler(self.kind, self.codec, receiver, self._emit)
        self._queue = _track_queue(receiver)

    async def send_pli(self) -> bool:
        """Ask the publisher for a keyframe; False if no media arrived yet to address."""
        ssrc = self._assembler.ssrc
        if ssrc is None:
            return False
        self.stats.plis += 1
        await self._receiver._send_rtcp_pli(ssrc)
        return True

    def pending(self) -> int:
        return self._queue.qsize()

    def _emit(self, packet: av.Packet) -> None:
        self.stats.frames += 1
        self.stats.keyframes += int(packet.is_keyframe)
        self._queue.put_nowait(packet)


def install_encoded_receiver(transceiver: RTCRtpTransceiver) -> EncodedSource:
    """Make the transceiver's receiver forward encoded frames; call before media flows."""
    receiver = transceiver.receiver
    if receiver.track is None:
        _fail("the transceiver has no remote track yet (call after setRemoteDescription)")
    for name in (_JITTER_BUFFER, _RECEIVER_CODECS):
        if not hasattr(receiver, name):
            _fail(f"RTCRtpReceiver instances have no {name}")
    source = EncodedSource(transceiver)
    setattr(receiver, _JITTER_BUFFER, source._assembler)
    return source


def negotiated_codec(transceiver: RTCRtpTransceiver) -> RTCRtpCodecParameters:
    """The codec the transceiver's media is sent with (the first negotiated, not RTX)."""
    codecs = getattr(transceiver, "_codecs", None)
    if not isinstance(codecs, list):
        _fail("RTCRtpTransceiver instances have no _codecs list")
    for codec in codecs or []:
        if codec.mimeType.lower() != f"{transceiver.kind}/rtx":
            return codec
    raise AiortcHookError(f"no {transceiver.kind} codec negotiated yet")


def _track_queue(receiver: RTCRtpReceiver) -> asyncio.Queue[Any]:
    queue = getattr(receiver.track, "_queue", None)
    if not isinstance(queue, asyncio.Queue):
        _fail("RemoteStreamTrack instances have no asyncio.Queue _queue")
    return queue  # type: ignore[return-value]


def _seq_add(seq: int, delta: int) -> int:
    return (seq + delta) & 0xFFFF


def _seq_before(a: int, b: int) -> bool:
    """True if sequence number a comes before b (RFC 3550 wrap-around)."""
    return a != b and ((b - a) & 0xFFFF) < 0x8000


class _TimestampUnwrapper:
    """RTP timestamps (32-bit, random origin) to pts counted from the first frame."""

    def __init__(self) -> None:
        self._origin: int | None = None
        self._last = 0
        self._cycles = 0

    def pts(self, timestamp: int) -> int:
        if self._origin is None:
            self._origin = self._last = timestamp
        elif timestamp < self._last and self._last - timestamp > 1 << 31:
            self._cycles += 1 << 32
        self._last = timestamp
        return timestamp + self._cycles - self._origin


class _FrameAssembler:
    """Stands in for the receiver's JitterBuffer (same ``add`` contract).

    Video frames are released on the marker bit, as soon as the last packet is in, instead
    of when the next frame starts (the stock buffer adds one frame interval). Audio packets
    are whole frames and go out at once. Nothing is returned to the receiver, so nothing
    is decoded.
    """

    def __init__(
        self,
        kind: str,
        codec: RTCRtpCodecParameters,
        receiver: RTCRtpReceiver,
        emit: Callable[[av.Packet], None],
    ) -> None:
        self.ssrc: int | None = None
        self._kind = kind
        self._codec_name = codec.name.upper()
        self._clock = Fraction(1, codec.clockRate)
        self._codecs: dict[int, RTCRtpCodecParameters] = getattr(receiver, _RECEIVER_CODECS)
        self._emit = emit
        self._pts = _TimestampUnwrapper()
        self._next_seq: int | None = None
        self._pending: dict[int, RtpPacket] = {}
        self._need_keyframe = False
        self._last_pli = -PLI_MIN_INTERVAL

    def add(self, packet: RtpPacket) -> tuple[bool, None]:
        codec = self._codecs.get(packet.payload_type)
        if codec is None or codec.name.upper() != self._codec_name:
            return False, None  # not the forwarded codec: viewers could not decode it
        self.ssrc = packet.ssrc
        if self._kind == "audio":
            self._add_audio(packet)
            return False, None
        return self._add_video(packet), None

    def _add_audio(self, packet: RtpPacket) -> None:
        seq = packet.sequence_number
        if self._next_seq is not None and _seq_before(seq, self._next_seq):
            return  # late or duplicate: its successor is already out
        self._next_seq = _seq_add(seq, 1)
        self._release(_data(packet), packet.timestamp, keyframe=True)

    def _add_video(self, packet: RtpPacket) -> bool:
        seq = packet.sequence_number
        if self._next_seq is None:
            if not self._starts_frame(packet):
                return False  # joined mid-frame: wait for a frame start
            self._next_seq = seq
        if _seq_before(seq, self._next_seq):
            return False
        self._pending[seq] = packet
        while self._release_next_video_frame():
            pass
        if self._gap_is_lost():
            return self._skip_gap()
        return False

    def _release_next_video_frame(self) -> bool:
        assert self._next_seq is not None
        packets: list[RtpPacket] = []
        seq = self._next_seq
        while (packet := self._pending.get(seq)) is not None:
            if packets and packet.timestamp != packets[0].timestamp:
                break  # no marker on the previous packet: the timestamp change ends it
            packets.append(packet)
            seq = _seq_add(seq, 1)
            if packet.marker:
                break
        else:
            return False  # a packet is missing: wait for it (NACK/RTX)
        for done in packets:
            del self._pending[done.sequence_number]
        self._next_seq = seq
        data = b"".join(_data(p) for p in packets)
        keyframe = self._is_keyframe(data)
        if self._need_keyframe and not keyframe:
            return True  # references a lost frame: undecodable, drop it
        self._need_keyframe = False
        self._release(data, packets[0].timestamp, keyframe)
        return True

    def _gap_is_lost(self) -> bool:
        if len(self._pending) > VIDEO_MAX_PENDING:
            return True
        markers = sum(1 for p in self._pending.values() if p.marker)
        return markers >= VIDEO_MAX_FRAMES_BEHIND_GAP

    def _skip_gap(self) -> bool:
        """Give up on missing packets: resume after the newest complete frame, ask a keyframe."""
        assert self._next_seq is not None
        origin = self._next_seq
        markers = [s for s, p in self._pending.items() if p.marker]
        if markers:
            newest = max(markers, key=lambda s: (s - origin) & 0xFFFF)
            self._next_seq = _seq_add(newest, 1)
            self._pending = {
                s: p for s, p in self._pending.items() if not _seq_before(s, self._next_seq)
            }
        else:  # no frame end in sight: resynchronise on the next frame start
            self._next_seq = None
            self._pending = {}
        self._need_keyframe = True
        now = time.monotonic()
        if now - self._last_pli < PLI_MIN_INTERVAL:
            return False
        self._last_pli = now
        return True  # the receiver sends the PLI

    def _release(self, data: bytes, timestamp: int, keyframe: bool) -> None:
        packet = av.Packet(data)
        packet.pts = self._pts.pts(timestamp)
        packet.time_base = self._clock
        packet.is_keyframe = keyframe
        self._emit(packet)

    def _starts_frame(self, packet: RtpPacket) -> bool:
        if self._codec_name == "VP8":
            first = packet.payload[0] if packet.payload else 0
            return bool(first & 0x10) and first & 0x07 == 0  # S bit, partition 0
        if self._codec_name == "H264":
            return _data(packet).startswith(H264_START_CODE)
        return True

    def _is_keyframe(self, data: bytes) -> bool:
        if self._codec_name == "VP8":
            return bool(data) and data[0] & 0x01 == 0  # VP8 frame tag: P bit clear
        if self._codec_name == "H264":
            return _h264_has_idr(data)
        return True


def _h264_has_idr(data: bytes) -> bool:
    start = data.find(b"\x00\x00\x01")
    while start != -1 and start + 3 < len(data):
        if data[start + 3] & 0x1F == 5:  # NAL unit type 5: IDR slice
            return True
        start = data.find(b"\x00\x00\x01", start + 3)
    return False


def _data(packet: RtpPacket) -> bytes:
    data: bytes = packet._data  # type: ignore[attr-defined]
    return data
