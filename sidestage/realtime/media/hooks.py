"""The only module that touches aiortc's private API (written against aiortc 1.16.0).

Why: aiortc decodes every received track. Forwarding needs the encoded frames, released as
soon as they are complete, and a way to ask the publisher for a keyframe. aiortc has no
public API for either, so this module reaches in, in as few places as possible:

Receiver side (``aiortc.rtcrtpreceiver``):

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

Sender and transceiver side:

- ``RTCRtpSender._send_keyframe()``: called when a viewer sends PLI or FIR; replaced per
  sender instance so the request goes upstream instead of to a (non-existent) encoder.
- ``RTCRtpTransceiver._codecs``: the negotiated codecs; the first non-RTX one is sent.
- The send path, for ``RtpWriter``. aiortc's ``RTCRtpSender._run_rtp`` runs one task per
  viewer that packetizes every frame again, builds a ``RtpPacket`` per packet and awaits
  three layers per datagram; at a few hundred viewers that is most of the server's CPU.
  ``RtpWriter`` packetizes once per frame for all viewers (``PackedFrame``) and writes each
  viewer's copy itself. Its ``_run_rtp`` still runs, on a track that never yields. It
  reads the sender's ``_RTCRtpSender__mid``, ``__rtp_header_extensions_map`` and
  ``__rtx_payload_type`` (set by ``send()``), and updates ``__packet_count``,
  ``__octet_count``, ``__ntp_timestamp``, ``__rtp_timestamp`` (its sender reports and
  stats) and ``__rtx_sequence_number``. ``RTCRtpSender._retransmit`` (NACK) is replaced per
  instance, reading the writer's own history. Writing uses ``RTCDtlsTransport._state``,
  ``._tx_srtp`` (the SRTP session) and ``.transport._connection._nominated`` (aioice's
  selected pair: its ``protocol.transport`` and ``remote_addr``). The native sender
  (``sendout``) seals and sends each viewer's copy in one call; where it is not built,
  ``sealer.PacketSealer`` seals and ``datagrams.send_datagrams`` sends.

``check_private_api()`` runs at import and ``install_*`` re-check each instance, so an
aiortc upgrade that moves any of this fails loudly here, not silently in production.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import aiortc
import av
from aiortc import (
    RTCDtlsTransport,
    RTCRtpCodecParameters,
    RTCRtpReceiver,
    RTCRtpSender,
    RTCRtpTransceiver,
    clock,
)
from aiortc.codecs import get_encoder
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtcdtlstransport import State as DtlsState
from aiortc.rtp import HeaderExtensionsMap, RtpPacket, wrap_rtx
from pylibsrtp import Session

from . import sendout
from .datagrams import holds_back, send_datagrams
from .sealer import PacketSealer, stamp

AIORTC_VERSION = "1.16.0"
PLI_MIN_INTERVAL = 0.5  # seconds between loss-triggered keyframe requests
VIDEO_MAX_PENDING = 1024  # packets held while waiting for a retransmission
VIDEO_MAX_FRAMES_BEHIND_GAP = 3  # complete frames after a gap before giving it up
H264_START_CODE = b"\x00\x00\x00\x01"

RTP_HISTORY_SIZE = 128  # packets kept per viewer for retransmission, as aiortc does

_JITTER_BUFFER = "_RTCRtpReceiver__jitter_buffer"
_RECEIVER_CODECS = "_RTCRtpReceiver__codecs"
_SENDER = "_RTCRtpSender__"  # prefix of the sender's name-mangled attributes
_PACKET_COUNT = _SENDER + "packet_count"
_OCTET_COUNT = _SENDER + "octet_count"
_NTP_TIMESTAMP = _SENDER + "ntp_timestamp"
_RTP_TIMESTAMP = _SENDER + "rtp_timestamp"
_SENDER_STARTED = (  # set by RTCRtpSender.send()
    "mid",
    "rtp_header_extensions_map",
    "rtx_payload_type",
    "rtx_sequence_number",
    "packet_count",
    "octet_count",
    "ntp_timestamp",
    "rtp_timestamp",
)


class AiortcHookError(RuntimeError):
    """aiortc no longer matches what this module relies on."""


def check_private_api() -> None:
    """Raise AiortcHookError unless aiortc still has every private name used here."""
    if aiortc.__version__ != AIORTC_VERSION:
        _fail(f"written for aiortc {AIORTC_VERSION}, found {aiortc.__version__}")
    for cls, name in (
        (RTCRtpReceiver, "_handle_rtp_packet"),
        (RTCRtpReceiver, "_send_rtcp_pli"),
        (RTCRtpSender, "_send_keyframe"),
        (RTCRtpSender, "_handle_rtcp_packet"),
        (RTCRtpSender, "_retransmit"),
        (RTCDtlsTransport, "_send_rtp"),
    ):
        if not callable(getattr(cls, name, None)):
            _fail(f"{cls.__name__}.{name} is gone")
    _check_source(RTCRtpReceiver._handle_rtp_packet, "self.__jitter_buffer.add(packet)")
    _check_source(RTCRtpReceiver._handle_rtp_packet, "packet._data = depayload(")
    _check_source(RTCRtpReceiver.__init__, "self.__codecs: dict[int, RTCRtpCodecParameters]")
    _check_source(RTCRtpSender._handle_rtcp_packet, "self._send_keyframe()")
    _check_source(RTCRtpSender._handle_rtcp_packet, "await self._retransmit(seq)")
    _check_source(RTCRtpSender._run_rtp, "await self._next_encoded_frame(codec)")
    for name in _SENDER_STARTED:
        _check_source(RTCRtpSender.__init__, f"self.__{name}")
    _check_source(RTCDtlsTransport._send_rtp, "self._tx_srtp.protect(data)")


def _check_source(function: Callable[..., Any], needle: str) -> None:
    try:
        source = inspect.getsource(function)
    except OSError:  # no source shipped: rely on the per-instance checks
        return
    if needle not in source:
        _fail(f"{function.__qualname__} no longer contains {needle!r}")


def _fail(reason: str) -> None:
    raise AiortcHookError(
        f"sidestage.realtime.media.hooks: {reason}; re-check the private aiortc API "
        "listed at the top of hooks.py before changing the pinned aiortc version"
    )


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


def route_keyframe_requests(sender: RTCRtpSender, request: Callable[[], None]) -> None:
    """Send a viewer's PLI/FIR to ``request`` (the sender has no encoder to restart)."""
    if not callable(getattr(sender, "_send_keyframe", None)):
        _fail("RTCRtpSender instances have no _send_keyframe")
    sender._send_keyframe = request  # type: ignore[method-assign]


def negotiated_codec(transceiver: RTCRtpTransceiver) -> RTCRtpCodecParameters:
    """The codec the transceiver's media is sent with (the first negotiated, not RTX)."""
    codecs = getattr(transceiver, "_codecs", None)
    if not isinstance(codecs, list):
        _fail("RTCRtpTransceiver instances have no _codecs list")
    for codec in codecs or []:
        if codec.mimeType.lower() != f"{transceiver.kind}/rtx":
            return codec
    raise AiortcHookError(f"no {transceiver.kind} codec negotiated yet")


class PackedFrame:
    """One encoded frame, packetized once for every viewer of its forwarder.

    ``packets()`` serializes the frame's RTP packets once per header layout (payload type,
    MID, extension ids; in practice every viewer of a stage shares one), with sequence
    number, timestamp and SSRC left zero for each ``RtpWriter`` to fill in.
    """

    __slots__ = (
        "payloads",
        "timestamp",
        "keyframe",
        "ntp_time",
        "octets",
        "_abs_send_time",
        "_layouts",
    )

    def __init__(self, payloads: list[bytes], timestamp: int, keyframe: bool) -> None:
        self.payloads = payloads
        self.timestamp = timestamp  # in the codec's clock, from the first frame
        self.keyframe = keyframe
        self.ntp_time = clock.current_ntp_time()
        self._abs_send_time = (self.ntp_time >> 14) & 0x00FFFFFF
        self.octets = 0  # of the serialized packets, headers included
        self._layouts: dict[tuple[Any, ...], list[bytes]] = {}

    def packets(self, layout: tuple[Any, ...], extensions: HeaderExtensionsMap) -> list[bytes]:
        packets = self._layouts.get(layout)
        if packets is None:
            packets = self._layouts[layout] = self._serialize(layout, extensions)
        return packets

    def _serialize(self, layout: tuple[Any, ...], extensions: HeaderExtensionsMap) -> list[bytes]:
        payload_type, mid = layout[0], layout[1]
        last = len(self.payloads) - 1
        serialized = []
        for index, payload in enumerate(self.payloads):
            packet = RtpPacket(payload_type=payload_type, marker=int(index == last))
            packet.payload = payload
            packet.extensions.abs_send_time = self._abs_send_time
            packet.extensions.mid = mid
            serialized.append(packet.serialize(extensions))
        self.octets = sum(map(len, serialized))
        return serialized


class Packetizer:
    """Splits forwarded frames into RTP payloads with aiortc's own packetizer, once."""

    def __init__(self, codec: RTCRtpCodecParameters) -> None:
        self._packer = get_encoder(codec)  # only its pack(): nothing is ever encoded

    def pack(self, packet: av.Packet) -> PackedFrame:
        payloads, timestamp = self._packer.pack(packet)
        return PackedFrame(payloads, timestamp, bool(packet.is_keyframe))


class RtpWriter:
    """Writes ``PackedFrame``s to one viewer: sequence numbers, SRTP, the selected pair.

    Made once the sender has started (its ``_run_rtp`` has asked its track for a frame),
    so its MID, header extensions and RTX payload type are known. One synchronous call
    per frame per viewer, with no task, no queue and no ``RtpPacket`` per packet.
    """

    def __init__(self, transceiver: RTCRtpTransceiver) -> None:
        sender = transceiver.sender
        state = vars(sender)
        missing = [n for n in _SENDER_STARTED if _SENDER + n not in state]
        if missing:
            _fail(f"RTCRtpSender instances have no {', '.join(missing)}")
        if state[_SENDER + "mid"] is None:
            _fail("the sender has not started (RTCRtpSender.send() not called yet)")
        self._sender = sender
        self._state = state
        self._dtls: RTCDtlsTransport = sender.transport
        self._ice = self._dtls.transport._connection
        self._extensions: HeaderExtensionsMap = state[_SENDER + "rtp_header_extensions_map"]
        ids = vars(self._extensions)["_HeaderExtensionsMap__ids"]
        payload_type = negotiated_codec(transceiver).payloadType
        self.layout = (payload_type, state[_SENDER + "mid"], dataclasses.astuple(ids))
        self._ssrc: int = sender._ssrc
        self._sequence = random.randrange(32768)  # as aiortc: far from wrapping at start
        self._origin = random.getrandbits(32)
        # sequence number % size -> (sequence number, packet template, timestamp)
        self._history: dict[int, tuple[int, bytes, int]] = {}
        self._sealed_session: Session | None = None
        self._packet_sealer: PacketSealer
        self._native: sendout.Target | None = None
        self._native_pair: Any = None
        self._native_session: Session | None = None
        sender._retransmit = self._retransmit  # type: ignore[method-assign]

    def write(self, frame: PackedFrame) -> int | None:
        """Send the frame's packets; its RTP timestamp, or None if the connection is down."""
        pair = self._ice._nominated.get(1)
        if self._dtls._state is not DtlsState.CONNECTED or pair is None:
            return None
        timestamp = (self._origin + frame.timestamp) & 0xFFFFFFFF
        templates = frame.packets(self.layout, self._extensions)
        native = self._native_for(pair)
        if native is None:
            self._seal_and_send(pair, templates, timestamp)
        else:
            transport = pair.protocol.transport
            # Straight to the socket only while the transport holds nothing back, so
            # datagrams stay in order; otherwise the transport queues them after the rest.
            rest = native.send(templates, timestamp, not holds_back(transport))
            for packet in rest or ():
                transport.sendto(packet, pair.remote_addr)
        self._account(frame, len(templates), timestamp)
        return timestamp

    def _native_for(self, pair: Any) -> sendout.Target | None:
        """The native sender over this pair and SRTP session, made when either changes."""
        session = self._dtls._tx_srtp
        if pair is self._native_pair and session is self._native_session:
            return self._native
        if self._native is not None:
            self._sequence = self._native.sequence  # carry on where it stopped
        self._native_pair, self._native_session = pair, session
        self._native = sendout.target(
            session, pair.protocol.transport, pair.remote_addr, self._ssrc, self._sequence
        )
        return self._native

    def _seal_and_send(self, pair: Any, templates: list[bytes], timestamp: int) -> None:
        """The Python path, where the native sender is not built."""
        seal = self._sealer().seal
        sequence, ssrc, history = self._sequence, self._ssrc, self._history
        sealed = []
        for template in templates:
            history[sequence % RTP_HISTORY_SIZE] = (sequence, template, timestamp)
            sealed.append(seal(template, sequence, timestamp, ssrc))
            sequence = (sequence + 1) & 0xFFFF
        self._sequence = sequence
        send_datagrams(pair.protocol.transport, sealed, pair.remote_addr)

    def _sealer(self) -> PacketSealer:
        """The sealer over the transport's SRTP session, made once DTLS has set it up."""
        session = self._dtls._tx_srtp
        if self._sealed_session is not session:
            self._sealed_session, self._packet_sealer = session, PacketSealer(session)
        return self._packet_sealer

    def _account(self, frame: PackedFrame, packets: int, timestamp: int) -> None:
        """What ``_run_rtp`` would note: the sender's reports and stats read it."""
        state = self._state
        state[_PACKET_COUNT] += packets
        state[_OCTET_COUNT] += frame.octets  # headers included: close enough for SR
        state[_NTP_TIMESTAMP] = frame.ntp_time
        state[_RTP_TIMESTAMP] = timestamp

    async def _retransmit(self, sequence_number: int) -> None:
        found = self._native.lookup(sequence_number) if self._native is not None else None
        if found is None:
            entry = self._history.get(sequence_number % RTP_HISTORY_SIZE)
            if entry is None or entry[0] != sequence_number:
                return  # too old: the viewer's decoder will ask for a keyframe
            found = entry[1:]
        template, timestamp = found
        data = stamp(template, sequence_number, timestamp, self._ssrc)
        rtx_payload_type = self._state[_SENDER + "rtx_payload_type"]
        if rtx_payload_type is not None:
            rtx_sequence = self._state[_SENDER + "rtx_sequence_number"]
            self._state[_SENDER + "rtx_sequence_number"] = (rtx_sequence + 1) & 0xFFFF
            rtx = wrap_rtx(
                RtpPacket.parse(data, self._extensions),
                payload_type=rtx_payload_type,
                sequence_number=rtx_sequence,
                ssrc=self._sender._rtx_ssrc,
            )
            data = rtx.serialize(self._extensions)
        await self._dtls._send_rtp(data)


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


check_private_api()
