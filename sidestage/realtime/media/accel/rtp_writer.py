"""Each viewer's copy of a forwarded frame written by us, not by aiortc's sender (aiortc 1.16).

Why: aiortc's ``RTCRtpSender._run_rtp`` runs one task per viewer that packetizes every
frame again, builds a ``RtpPacket`` per packet and awaits three layers per datagram; at a
few hundred viewers that is most of the server's CPU. ``RtpWriter`` writes the frame
packetized once for all viewers (``packing.PackedFrame``) to each viewer itself. The
sender's ``_run_rtp`` still runs, on a track that never yields.

Private API (aiortc 1.16, aioice):

- ``RTCRtpSender._send_keyframe()``: called when a viewer sends PLI or FIR; replaced per
  sender instance so the request goes upstream instead of to a (non-existent) encoder.
- It reads the sender's ``_RTCRtpSender__mid``, ``__rtp_header_extensions_map`` and
  ``__rtx_payload_type`` (set by ``send()``), and updates ``__packet_count``,
  ``__octet_count``, ``__ntp_timestamp``, ``__rtp_timestamp`` (its sender reports and
  stats) and ``__rtx_sequence_number``. ``RTCRtpSender._retransmit`` (NACK) is replaced per
  instance, reading the writer's own history.
- Writing uses ``RTCDtlsTransport._state``, ``._tx_srtp`` (the SRTP session) and
  ``.transport._connection._nominated`` (aioice's selected pair: its
  ``protocol.transport`` and ``remote_addr``).

Sealing and sending: the native sender (``sendout``, ``media.native_sender``) does both in
one call per viewer; without it ``sealer.PacketSealer`` (``media.srtp_sealer``) or else
pylibsrtp's own ``protect`` seals, and ``datagrams.send_datagrams`` sends.

``missing()`` checks these names (``media.rtp_writer`` in ``accel``); if any is gone,
aiortc's own sender sends each viewer's copy (``forwarder.ViewerTrack`` hands it the
frames), and a viewer's keyframe request waits for the forwarder's next one.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from typing import Any, Protocol

from aiortc import RTCDtlsTransport, RTCRtpSender, RTCRtpTransceiver
from aiortc.rtcdtlstransport import State as DtlsState
from aiortc.rtp import HeaderExtensionsMap, RtpPacket, wrap_rtx
from pylibsrtp import Session

from sidestage.platform import fast_paths
from sidestage.platform.fast_paths import lacking, source_lacks
from sidestage.realtime.media.accel import NATIVE_SENDER, SRTP_SEALER
from sidestage.realtime.media.packing import PackedFrame

from . import sendout
from .datagrams import holds_back, send_datagrams
from .receiving import AiortcHookError, negotiated_codec
from .sealer import PacketSealer, stamp

RTP_HISTORY_SIZE = 128  # packets kept per viewer for retransmission, as aiortc does
AUDIO_STEP = 960  # one 20 ms Opus frame at 48 kHz: after a change of source, time goes on by it

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


def missing() -> list[str]:
    """The private names above that this process's aiortc lacks."""
    return [
        *lacking(RTCRtpSender, "_send_keyframe", "_handle_rtcp_packet", "_retransmit"),
        *lacking(RTCDtlsTransport, "_send_rtp"),
        *source_lacks(
            RTCRtpSender._handle_rtcp_packet, "self._send_keyframe()", "await self._retransmit(seq)"
        ),
        *source_lacks(RTCRtpSender._run_rtp, "await self._next_encoded_frame(codec)"),
        *source_lacks(RTCRtpSender.__init__, *(f"self.__{name}" for name in _SENDER_STARTED)),
        *source_lacks(RTCDtlsTransport._send_rtp, "self._tx_srtp.protect(data)"),
        *source_lacks(RTCDtlsTransport.__init__, "self._state", "self._tx_srtp"),
    ]


def _fail(reason: str) -> None:
    raise AiortcHookError(f"aiortc's sender: {reason} (see media/accel/rtp_writer.py)")


def route_keyframe_requests(sender: RTCRtpSender, request: Callable[[], None]) -> None:
    """Send a viewer's PLI/FIR to ``request`` (the sender has no encoder to restart)."""
    if not callable(getattr(sender, "_send_keyframe", None)):
        _fail("RTCRtpSender instances have no _send_keyframe")
    sender._send_keyframe = request  # type: ignore[method-assign]


class Sealer(Protocol):
    def seal(self, template: bytes, sequence: int, timestamp: int, ssrc: int) -> bytes: ...


class ProtectSealer:
    """pylibsrtp's own ``protect``: where ``sealer.PacketSealer`` does not run."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def seal(self, template: bytes, sequence: int, timestamp: int, ssrc: int) -> bytes:
        return self._session.protect(stamp(template, sequence, timestamp, ssrc))


class RtpWriter:
    """Writes ``PackedFrame``s to one viewer: sequence numbers, SRTP, the selected pair.

    Made once the sender has started (its ``_run_rtp`` has asked its track for a frame),
    so its MID, header extensions and RTX payload type are known. One synchronous call
    per frame per viewer, with no task, no queue and no ``RtpPacket`` per packet.
    """

    def __init__(self, transceiver: RTCRtpTransceiver) -> None:
        sender = transceiver.sender
        state = vars(sender)
        absent = [n for n in _SENDER_STARTED if _SENDER + n not in state]
        if absent:
            _fail(f"RTCRtpSender instances have no {', '.join(absent)}")
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
        self._last_timestamp: int | None = None  # of the last frame sent
        self._switched = False  # the next frame is the first of another source
        # sequence number % size -> (sequence number, packet template, timestamp)
        self._history: dict[int, tuple[int, bytes, int]] = {}
        self._sealed_session: Session | None = None
        self._packet_sealer: Sealer
        self._native: sendout.Target | None = None
        self._native_pair: Any = None
        self._native_session: Session | None = None
        sender._retransmit = self._retransmit  # type: ignore[method-assign]

    def write(self, frame: PackedFrame) -> int | None:
        """Send the frame's packets; its RTP timestamp, or None if the connection is down."""
        pair = self._ice._nominated.get(1)
        if self._dtls._state is not DtlsState.CONNECTED or pair is None:
            return None
        if self._switched and self._last_timestamp is not None:
            # Another source counts from its own first frame: go on from the last one sent.
            self._origin = (self._last_timestamp + AUDIO_STEP - frame.timestamp) & 0xFFFFFFFF
        self._switched = False
        timestamp = (self._origin + frame.timestamp) & 0xFFFFFFFF
        self._last_timestamp = timestamp
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

    def switched(self) -> None:
        self._switched = True

    def _native_for(self, pair: Any) -> sendout.Target | None:
        """The native sender over this pair and SRTP session, made when either changes."""
        session = self._dtls._tx_srtp
        if pair is self._native_pair and session is self._native_session:
            return self._native
        if self._native is not None:
            self._sequence = self._native.sequence  # carry on where it stopped
        self._native_pair, self._native_session = pair, session
        self._native = (
            sendout.target(
                session, pair.protocol.transport, pair.remote_addr, self._ssrc, self._sequence
            )
            if fast_paths.runs(NATIVE_SENDER)
            else None
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

    def _sealer(self) -> Sealer:
        """The sealer over the transport's SRTP session, made once DTLS has set it up."""
        session = self._dtls._tx_srtp
        if self._sealed_session is not session:
            sealer = PacketSealer if fast_paths.runs(SRTP_SEALER) else ProtectSealer
            self._sealed_session, self._packet_sealer = session, sealer(session)
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
