"""The native sender (``_sendout.c``): a viewer's copy of a frame, sealed and sent in one call.

Over real UDP sockets on loopback, each packet must arrive as its own datagram, in order,
and authenticate with the viewer's SRTP session to the template stamped with that
viewer's sequence number, timestamp and SSRC: what ``sealer.PacketSealer`` and
``datagrams.send_datagrams`` did from Python. End to end, the forwarding tests go
through it too.
"""

from __future__ import annotations

import asyncio
import os
import socket
import struct
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from pylibsrtp import Policy, Session

from sidestage.realtime.media.accel import sendout
from tests.live import until
from tests.test_media_datagrams import Receiver
from tests.test_media_sealer import PROFILES, sessions, template

pytestmark = [pytest.mark.media, pytest.mark.fast_path("media.native_sender")]

SSRC = 0x5EED


@dataclass
class Link:
    """A sending asyncio transport, the receiver's queue and its address."""

    transport: asyncio.DatagramTransport
    receiver: Receiver
    address: tuple[str, int]


@pytest.fixture
async def link() -> AsyncIterator[Link]:
    loop = asyncio.get_running_loop()
    inbound, receiver = await loop.create_datagram_endpoint(Receiver, local_addr=("127.0.0.1", 0))
    inbound.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    outbound, _ = await loop.create_datagram_endpoint(
        asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0)
    )
    yield Link(outbound, receiver, inbound.get_extra_info("sockname"))
    outbound.close()
    inbound.close()


def native_target(session: Session, link: Link, sequence: int = 65_530) -> sendout.Target:
    made = sendout.target(session, link.transport, link.address, SSRC, sequence)
    assert made is not None, "the native sender is built on this machine"
    return made


def stamped(packet: bytes, sequence: int, timestamp: int) -> bytes:
    expected = bytearray(packet)
    struct.pack_into("!HII", expected, 2, sequence, timestamp, SSRC)
    return bytes(expected)


def test_the_native_sender_is_built_where_the_servers_run() -> None:
    """On Linux (every deployment and CI) the stage must not fall back to Python unnoticed."""
    if not sys.platform.startswith("linux"):
        pytest.skip("built where a C compiler is found; required on Linux only")
    assert sendout.available()
    assert sendout.missing() == []


@pytest.mark.parametrize(("profile", "key_length"), PROFILES)
@pytest.mark.parametrize(
    "sizes",
    [
        (1300, 1300, 1300, 1116),  # a video frame: one segmented send
        (160,),  # an audio frame
        (1200, 400, 1200),  # sizes that segmentation cannot carry: one sendmmsg
        (1200,) * 150,  # a large keyframe: runs of 64 packets
    ],
)
async def test_packets_arrive_sealed_in_order_and_numbered_on(
    link: Link, profile: int, key_length: int, sizes: tuple[int, ...]
) -> None:
    ours, _, receiver = sessions(profile, key_length)
    target = native_target(ours, link)
    first = [template(os.urandom(size - 12)) for size in sizes]
    second = [template(os.urandom(100), marker=True)]
    assert target.send(first, 90_000, True) is None  # the kernel took everything
    assert target.send(second, 93_000, True) is None
    got = await link.receiver.take(len(sizes) + 1)
    expected = [stamped(p, (65_530 + n) & 0xFFFF, 90_000) for n, p in enumerate(first)]
    expected.append(stamped(second[0], (65_530 + len(sizes)) & 0xFFFF, 93_000))
    assert [receiver.unprotect(datagram) for datagram in got] == expected
    assert target.sequence == (65_530 + len(sizes) + 1) & 0xFFFF


async def test_what_is_not_sent_directly_comes_back_sealed_for_the_transport(
    link: Link,
) -> None:
    ours, _, receiver = sessions(*PROFILES[1])
    target = native_target(ours, link, sequence=7)
    frame = [template(os.urandom(1200)), template(os.urandom(300))]
    rest = target.send(frame, 3000, False)  # the transport has something queued
    assert rest is not None and len(rest) == 2
    assert [receiver.unprotect(p) for p in rest] == [
        stamped(frame[0], 7, 3000),
        stamped(frame[1], 8, 3000),
    ]
    link.transport.close()  # the socket is gone: nothing is sent, everything comes back
    await until(lambda: link.transport.get_extra_info("socket").fileno() == -1)
    rest = target.send(frame, 6000, True)
    assert rest is not None and [receiver.unprotect(p)[2:4] for p in rest] == [
        b"\x00\x09",
        b"\x00\x0a",
    ]


async def test_the_history_answers_retransmissions_of_recent_packets(link: Link) -> None:
    ours, _, _ = sessions(*PROFILES[0])
    target = native_target(ours, link, sequence=65_500)
    frames = [[template(bytes([n]) * 50)] for n in range(200)]
    for n, frame in enumerate(frames):
        target.send(frame, n * 3000, True)
    await link.receiver.take(200)
    newest = (65_500 + 199) & 0xFFFF
    assert target.lookup(newest) == (frames[199][0], 199 * 3000)
    assert target.lookup((newest - 127) & 0xFFFF) == (frames[72][0], 72 * 3000)
    assert target.lookup((newest - 128) & 0xFFFF) is None  # overwritten: too old
    assert target.lookup((newest + 1) & 0xFFFF) is None  # not sent yet
    with pytest.raises(ValueError, match="sequence number"):
        target.lookup(70_000)


async def test_bad_frames_are_refused_before_anything_is_sent(link: Link) -> None:
    ours, _, receiver = sessions(*PROFILES[0])
    target = native_target(ours, link, sequence=1)
    good = template(b"ok" * 100)
    with pytest.raises(ValueError, match="1501 bytes"):
        target.send([good, template(bytes(1489))], 0, True)
    with pytest.raises(ValueError, match="5 bytes"):
        target.send([good, b"short"], 0, True)
    with pytest.raises(TypeError, match="bytes"):
        target.send([good, bytearray(good)], 0, True)  # type: ignore[list-item]
    assert target.sequence == 1  # nothing numbered, nothing sent
    assert target.send([good], 0, True) is None
    (datagram,) = await link.receiver.take(1)
    assert receiver.unprotect(datagram) == stamped(good, 1, 0)


async def test_addresses_the_native_sender_cannot_reach_leave_it_to_python(link: Link) -> None:
    session = Session(Policy(key=os.urandom(30), ssrc_type=Policy.SSRC_ANY_OUTBOUND))
    assert sendout.target(session, link.transport, ("::1", 5000), SSRC, 0) is None
    assert sendout.target(session, link.transport, ("localhost", 5000), SSRC, 0) is None
