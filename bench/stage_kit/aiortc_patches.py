"""Every use of aiortc's (and aioice's) private API in the stage bench (aiortc 1.16.0).

The bench needs what no public API gives: fixed bitrates, loopback candidates, counters in
place of decoders, and the moment each frame leaves. Named here so an upgrade is checked in
one place:

- ``aioice.ice.get_host_addresses``: replaced so every peer offers 127.0.0.1;
- ``aiortc.codecs.vpx.DEFAULT_BITRATE`` and ``Vp8Encoder.target_bitrate``: pinned to
  ``VIDEO_BITRATE`` (REMB would otherwise move the publisher's and the relay's rate);
- ``RTCRtpReceiver.__jitter_buffer`` (``receiving._JITTER_BUFFER``, the name sidestage's own
  check looks for): read and wrapped on the server's receiver;
- the jitter buffer's contract, ``add(RtpPacket) -> (pli_flag, frame_or_None)``, and
  ``RtpPacket`` (``aiortc.rtp``, not exported by aiortc) the packet it gets;
- ``RTCDtlsTransport._send_rtp``: wrapped on one transport instance to note when each
  video frame's last packet left; deleting the instance attribute restores it.
- ``RTCDtlsTransport._handle_rtp_data(data, arrival_time_ms)``: called with each RTP
  packet once SRTP has checked and decrypted it; replaced on the viewers' transports by a
  header reader (``read_rtp_headers``).
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from typing import Any

import aioice.ice
from aiortc import RTCDtlsTransport, RTCRtpReceiver, RTCRtpTransceiver
from aiortc.codecs import vpx
from aiortc.rtp import RtpPacket as RtpPacket  # re-exported: the jitter buffer's argument

from sidestage.realtime.media.accel import receiving

from .common import VIDEO_BITRATE, FrameLog


def offer_loopback_only() -> None:
    """aioice never offers 127.0.0.1 as a host candidate; every peer here is on loopback."""
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]  # type: ignore[assignment]


def pin_video_bitrate() -> None:
    """VP8 at a fixed 1 Mbit/s: REMB would otherwise move the publisher's (and relay's) rate."""
    vpx.DEFAULT_BITRATE = VIDEO_BITRATE  # read when an encoder is made (its buffer size)
    vpx.Vp8Encoder.target_bitrate = property(  # type: ignore[assignment]
        lambda self: VIDEO_BITRATE, lambda self, value: None
    )


def jitter_buffer(receiver: RTCRtpReceiver) -> Any:
    return getattr(receiver, receiving._JITTER_BUFFER)  # private: see media/accel/receiving.py


def replace_jitter_buffer(receiver: RTCRtpReceiver, buffer: Any) -> None:
    """``buffer.add(packet)`` must keep the contract: return ``(pli_flag, frame_or_None)``."""
    setattr(receiver, receiving._JITTER_BUFFER, buffer)


RtpSink = Callable[[int, bool, int], None]  # (RTP timestamp, marker, payload bytes)
_TIMESTAMP = struct.Struct("!I")


def read_rtp_headers(transport: RTCDtlsTransport, sinks: dict[int, RtpSink]) -> None:
    """After SRTP, read each RTP packet's header and pass it to its payload type's sink.

    Instead of aiortc's parsing, statistics, NACK generator and depayloading, which a
    counting viewer does not need and which cost it about four times what the server
    spends per packet. Packets of other payload types (retransmissions) are left out.
    """

    async def handle(data: bytes, arrival_time_ms: int) -> None:
        sink = sinks.get(data[1] & 0x7F) if len(data) >= 12 else None
        if sink is None:
            return
        header = 12 + 4 * (data[0] & 0x0F)  # the fixed part and the CSRCs
        if data[0] & 0x10 and len(data) >= header + 4:  # an extension block
            header += 4 + 4 * int.from_bytes(data[header + 2 : header + 4], "big")
        sink(_TIMESTAMP.unpack_from(data, 4)[0], bool(data[1] & 0x80), len(data) - header)

    transport._handle_rtp_data = handle  # type: ignore[method-assign]


def note_frame_ends(transceiver: RTCRtpTransceiver, log: FrameLog) -> Any:
    """Log when each video frame's last packet left, by RTP timestamp; returns the transport.

    Wraps the (bundled, known once the answer is in) transport's private ``_send_rtp``
    on this instance only; ``stop_noting(transport)`` restores it.
    """
    transport = transceiver.sender.transport
    send = transport._send_rtp
    video_type = receiving.negotiated_codec(transceiver).payloadType
    assert video_type is not None

    async def noting(data: bytes) -> None:
        await send(data)
        if len(data) >= 12 and data[1] == 0x80 | video_type:  # marker bit: a frame's end
            log.append((struct.unpack_from("!I", data, 4)[0], time.time()))

    transport._send_rtp = noting  # type: ignore[method-assign]
    return transport


def stop_noting(transport: Any) -> None:
    del transport._send_rtp  # the class's method again
