"""A forwarded frame split into RTP payloads once, for every viewer of its forwarder.

With aiortc's own packetizer (``aiortc.codecs.get_encoder(codec).pack``): nothing is
encoded. The frame itself stays with it (``source``), for viewers whose copies aiortc's
sender packetizes again (``media.rtp_writer`` off).
"""

from __future__ import annotations

from typing import Any

import av
from aiortc import RTCRtpCodecParameters, clock
from aiortc.codecs import get_encoder
from aiortc.rtp import HeaderExtensionsMap, RtpPacket


class PackedFrame:
    """One encoded frame, packetized once for every viewer of its forwarder.

    ``packets()`` serializes the frame's RTP packets once per header layout (payload type,
    MID, extension ids; in practice every viewer of a stage shares one), with sequence
    number, timestamp and SSRC left zero for each ``RtpWriter`` to fill in.
    """

    __slots__ = (
        "source",
        "payloads",
        "timestamp",
        "keyframe",
        "ntp_time",
        "octets",
        "_abs_send_time",
        "_layouts",
    )

    def __init__(
        self, source: av.Packet, payloads: list[bytes], timestamp: int, keyframe: bool
    ) -> None:
        self.source = source  # the encoded frame, as the publisher sent it
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
        return PackedFrame(packet, payloads, timestamp, bool(packet.is_keyframe))
