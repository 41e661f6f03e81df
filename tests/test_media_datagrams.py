"""A frame's datagrams reach the viewer's socket as the same datagrams, in order, however
they were grouped into system calls (UDP segmentation where the kernel takes it)."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import AsyncIterator

import pytest

from sidestage.realtime.media.accel import datagrams
from sidestage.realtime.media.accel.datagrams import send_datagrams

pytestmark = [pytest.mark.media, pytest.mark.fast_path("media.rtp_writer")]


class Receiver(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.got: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: object) -> None:
        self.got.put_nowait(data)

    async def take(self, count: int) -> list[bytes]:
        return [await asyncio.wait_for(self.got.get(), 5) for _ in range(count)]


@pytest.fixture
async def link() -> AsyncIterator[tuple[asyncio.DatagramTransport, Receiver, object]]:
    loop = asyncio.get_running_loop()
    inbound, receiver = await loop.create_datagram_endpoint(Receiver, local_addr=("127.0.0.1", 0))
    inbound.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    outbound, _ = await loop.create_datagram_endpoint(
        asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0)
    )
    yield outbound, receiver, inbound.get_extra_info("sockname")
    outbound.close()
    inbound.close()


def packets(*sizes: int) -> list[bytes]:
    return [os.urandom(size) for size in sizes]


@pytest.mark.parametrize(
    "sizes",
    [
        (1300, 1300, 1300, 1116),  # a video frame: one size, the last shorter
        (1252,) * 4,  # all one size
        (1300, 400, 1300, 1300, 90),  # a shorter packet ends a run
        (200, 1300, 1300),  # a longer packet starts a new run
        (1200,) * 150,  # more than one send can carry, by count and by bytes
        (160,),  # one audio packet
    ],
)
async def test_datagrams_arrive_whole_and_in_order(
    link: tuple[asyncio.DatagramTransport, Receiver, object],
    sizes: tuple[int, ...],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    outbound, receiver, address = link
    segmented = []  # the runs the kernel took in one send

    def send_run(raw: socket.socket, run: list[bytes], to: object) -> bool:
        taken = send_run_itself(raw, run, to)
        segmented.extend([len(run)] if taken else [])
        return taken

    send_run_itself = datagrams._send_run
    monkeypatch.setattr(datagrams, "_send_run", send_run)
    sent = packets(*sizes)
    send_datagrams(outbound, sent, address)
    assert await receiver.take(len(sent)) == sent
    assert receiver.got.empty()
    # The segmented path was taken, not only the fallback: on Linux, every frame of more
    # than one datagram here has a run of at least two.
    on_linux = sys.platform.startswith("linux")
    assert bool(segmented) == (on_linux and len(sizes) > 1)
    assert datagrams._Segmentation.works == on_linux


async def test_without_segmentation_every_datagram_still_arrives(
    link: tuple[asyncio.DatagramTransport, Receiver, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the kernel refused segmentation once, datagrams go one by one."""
    monkeypatch.setattr(datagrams._Segmentation, "works", False)
    outbound, receiver, address = link
    sent = packets(1300, 1300, 700)
    send_datagrams(outbound, sent, address)
    assert await receiver.take(3) == sent


def test_runs_follow_the_kernels_rules() -> None:
    """All but a run's last datagram have its first's size, and a run fits one send."""
    runs = datagrams._run_of_one_size
    assert runs(packets(1300, 1300, 1116, 1300), 0) == 3
    assert runs(packets(1300, 1400), 0) == 1
    assert runs(packets(*(100,) * 200), 0) == datagrams.MAX_SEGMENTS
    assert runs(packets(*(1300,) * 200), 0) == datagrams.MAX_BYTES // 1300
