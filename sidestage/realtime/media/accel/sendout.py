"""A viewer's copy of a frame sealed and sent in one native call, where it is built.

Why: a stage sends every packet once per viewer. From Python each viewer's copy of a frame
cost about 35 µs on a 2-core EPYC VM (four packets: stamp, SRTP, the send, the history for
retransmissions), so a frame reached the hundredth viewer 3.5 ms after the first, and
8 ms at the 99th percentile. ``_sendout.c`` does that work in one call per viewer and frame
with no Python object per packet; the Python around it checks that the viewer is still
connected, as before.

The native module is optional (``setup.py``): where it is not built (``missing()``, the
fast path ``media.native_sender``), ``rtp_writer.RtpWriter`` seals in Python and sends
with ``datagrams.send_datagrams``.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from types import ModuleType
from typing import TYPE_CHECKING, Any

from pylibsrtp import Session

from . import sealer

if TYPE_CHECKING:
    from ._sendout import Target

_sendout: ModuleType | None
try:
    from . import _sendout
except ImportError:  # not built here: the Python path
    _sendout = None

log = logging.getLogger(__name__)


def available() -> bool:
    return _sendout is not None


def missing() -> list[str]:
    """What the native sender needs and this process lacks: the module, or pylibsrtp's
    names it is given (``sealer``)."""
    if _sendout is None:
        return ["the native module _sendout (not built: see setup.py)"]
    return sealer.missing()


def target(
    session: Session,
    transport: asyncio.DatagramTransport,
    address: Any,
    ssrc: int,
    sequence: int,
) -> Target | None:
    """A native sender to ``address`` over ``transport``'s socket; None where there is none.

    None when the module is not built, or the transport has no socket or the address is
    not a numeric one of the socket's family: the caller then sends from Python.
    """
    if _sendout is None:
        return None
    sock = transport.get_extra_info("socket")
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return None
    protect, srtp = sealer.native_handles(session)
    try:
        made: Target = _sendout.Target(
            protect=protect,
            srtp=srtp,
            session=session,
            sock=sock,
            family=int(sock.family),
            address=tuple(address[:2]),
            ssrc=ssrc,
            sequence=sequence,
        )
    except (TypeError, ValueError) as error:
        log.info("native sender not used for %s: %s", address, error)
        return None
    return made
