"""A viewer's copy of a frame handed to the kernel in one system call where Linux allows it.

Why: the stage sends every packet once per viewer, and on loopback a ``sendto`` cost 4.8 µs
per 1,200-byte packet on a 2-core EPYC VM. A 1 Mbit/s video frame is about four packets of
one size (the packetizer fills all but the last). With UDP generic segmentation offload
(``UDP_SEGMENT``, Linux 4.18+) one ``sendmsg`` carries them all and the kernel cuts them
into datagrams of the given size: 2.9 µs per packet. What the viewer receives is the same
datagrams.

It writes to the socket under aioice's asyncio transport, reached through the transport's
``get_extra_info("socket")`` wrapper (its private ``_sock``), and only while the transport
has nothing buffered, so datagrams stay in order. Anything the fast path cannot take (one
packet, sizes that differ, a full socket buffer, an error) goes through
``transport.sendto`` as before. A kernel that refuses segmentation turns it off for the
process, once.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import struct
import sys
from collections.abc import Sequence
from typing import Any

log = logging.getLogger(__name__)

UDP_SEGMENT = 103  # linux/udp.h; Python 3.11's socket module does not name it
MAX_SEGMENTS = 64  # UDP_MAX_SEGMENTS of older kernels (newer allow 128)
MAX_BYTES = 65_000  # one UDP datagram's limit (65,507 over IPv4), before segmentation
_REFUSED = {errno.EIO, errno.EINVAL, errno.ENOPROTOOPT, errno.EOPNOTSUPP}


class _Segmentation:
    works = sys.platform.startswith("linux")  # until the kernel says otherwise


def send_datagrams(
    transport: asyncio.DatagramTransport, packets: Sequence[bytes], address: Any
) -> None:
    """Send ``packets`` to ``address`` in order, as separate datagrams."""
    sent = 0
    raw = _raw_socket(transport) if len(packets) > 1 and _Segmentation.works else None
    if raw is not None:
        sent = _send_segmented(raw, transport, packets, address)
    for packet in packets[sent:]:
        transport.sendto(packet, address)


def _send_segmented(
    raw: socket.socket, transport: asyncio.DatagramTransport, packets: Sequence[bytes], address: Any
) -> int:
    """How many of ``packets`` went out in segmented sends; the rest are the caller's."""
    sent = 0
    while sent < len(packets):
        count = _run_of_one_size(packets, sent)
        if count == 1:
            transport.sendto(packets[sent], address)
        elif not _send_run(raw, packets[sent : sent + count], address):
            return sent
        sent += count
    return sent


def _run_of_one_size(packets: Sequence[bytes], start: int) -> int:
    """The longest run from ``start`` that one segmented send can carry.

    Every datagram but the last of a run has the run's segment size; the last may be
    shorter, and ends it.
    """
    size = len(packets[start])
    limit = min(len(packets), start + MAX_SEGMENTS, start + MAX_BYTES // max(size, 1))
    end = start + 1
    while end < limit and len(packets[end]) == size:
        end += 1
    if end < limit and len(packets[end]) < size:
        end += 1
    return max(end - start, 1)


def _send_run(raw: socket.socket, run: Sequence[bytes], address: Any) -> bool:
    """One ``sendmsg`` for the run; False to leave it to the transport."""
    option = [(socket.SOL_UDP, UDP_SEGMENT, struct.pack("=H", len(run[0])))]
    try:
        raw.sendmsg(run, option, 0, address)
    except (BlockingIOError, InterruptedError):
        return False  # the transport buffers it, and keeps the order from here on
    except OSError as error:
        if error.errno in _REFUSED:
            _Segmentation.works = False
            log.info("UDP segmentation offload refused (%s): sending datagram by datagram", error)
        return False  # the transport reports any other error as it always does
    return True


def holds_back(transport: asyncio.DatagramTransport) -> bool:
    """True while the transport has datagrams queued: writing past it would reorder them."""
    # Selector transports say; one that cannot say counts as holding back: keep to sendto.
    size = getattr(transport, "get_write_buffer_size", None)
    return size is None or bool(size())


def _raw_socket(transport: asyncio.DatagramTransport) -> socket.socket | None:
    """The transport's socket, if writing to it now keeps the datagrams in order."""
    if transport.is_closing() or holds_back(transport):
        return None
    raw = getattr(transport.get_extra_info("socket"), "_sock", None)
    return raw if isinstance(raw, socket.socket) else None
