"""The stage's fast paths on private code of aiortc, aioice and pylibsrtp (the policy:
``platform/fast_paths.py``), and the three steps the stage takes through them.

Each path's module is imported only when it runs, so an aiortc that moved its internals
leaves the rest of Sidestage running:

- ``media.encoded_frames`` (``receiving``): a publisher's encoded frames out of aiortc's
  receiver. Needed: aiortc offers no encoded frames, so without it there is no stage
  (``stage.unavailable``); chat, polls and questions go on.
- ``media.rtp_writer`` (``rtp_writer``): each viewer's copy of a frame packetized once for
  all and written by us. Instead: aiortc's own sender, a task per viewer.
- ``media.srtp_sealer`` (``sealer``): SRTP with one copy in and one out. Instead:
  pylibsrtp's ``protect``.
- ``media.native_sender`` (``sendout``, ``_sendout.c``): sealed and sent in one native call
  per viewer and frame. Instead: sealing and sending from Python.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiortc import RTCRtpCodecParameters, RTCRtpTransceiver

from sidestage.platform import fast_paths
from sidestage.platform.fast_paths import FastPath, checks

if TYPE_CHECKING:
    from sidestage.realtime.media.forwarder import Forwarder, PacketSource, ViewerTrack


ENCODED_FRAMES = FastPath(
    name="media.encoded_frames",
    replaces="aiortc's decoding of every received track",
    instead="no stage: aiortc hands out no encoded frames",
    missing=checks("sidestage.realtime.media.accel.receiving"),
    needed=True,
)
RTP_WRITER = FastPath(
    name="media.rtp_writer",
    replaces="aiortc's sender task per viewer, packetizing every frame again",
    instead="aiortc's own sender for each viewer",
    missing=checks("sidestage.realtime.media.accel.rtp_writer"),
)
SRTP_SEALER = FastPath(
    name="media.srtp_sealer",
    replaces="pylibsrtp's protect (copies and an allocation per packet)",
    instead="pylibsrtp's protect",
    missing=checks("sidestage.realtime.media.accel.sealer"),
)
NATIVE_SENDER = FastPath(
    name="media.native_sender",
    replaces="sealing and sending each packet from Python",
    instead="sealing and sending from Python",
    missing=checks("sidestage.realtime.media.accel.sendout"),
)
PATHS = (ENCODED_FRAMES, RTP_WRITER, SRTP_SEALER, NATIVE_SENDER)


def stage_available() -> bool:
    return fast_paths.runs(ENCODED_FRAMES)


def encoded_source(transceiver: RTCRtpTransceiver) -> PacketSource:
    """The publisher's track on ``transceiver`` as encoded frames (``stage_available``)."""
    from sidestage.realtime.media.accel import receiving

    return receiving.install_encoded_receiver(transceiver)


def negotiated_codec(transceiver: RTCRtpTransceiver) -> RTCRtpCodecParameters:
    from sidestage.realtime.media.accel import receiving

    return receiving.negotiated_codec(transceiver)


def send_forwarded(
    transceiver: RTCRtpTransceiver, track: ViewerTrack, forwarder: Forwarder
) -> None:
    """How ``track``'s frames reach its viewer, once the viewer's sender has started."""
    if not fast_paths.runs(RTP_WRITER):
        track.through_sender()
        return
    from sidestage.realtime.media.accel import rtp_writer

    track.bind(lambda: rtp_writer.RtpWriter(transceiver))
    rtp_writer.route_keyframe_requests(transceiver.sender, forwarder.request_keyframe)
