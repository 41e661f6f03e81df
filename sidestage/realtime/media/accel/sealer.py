"""SRTP for the stage's fan-out with one copy and no allocation per packet (pylibsrtp 1.0.0).

Why: a stage sends every packet once per viewer, so at a few hundred viewers the fan-out is
mostly "protect, then send", packet after packet. ``pylibsrtp.Session.protect`` spends
about as long in its Python wrapper (a new cffi ``int *`` per call, a copy in, a copy out,
checks) as libsrtp spends protecting: measured 7.4 µs per 1,200-byte packet on a 2-core
EPYC VM, of which the C call is 3.4 µs. ``PacketSealer`` makes the same libsrtp call on the
same session, and writes the viewer's sequence number, timestamp and SSRC straight into
libsrtp's buffer, so the packet is copied in once and out once.

This is the only module that touches pylibsrtp's private API, all of it from
``Session.__init__`` and ``Session._Session__process``: ``Session._srtp`` (the
``srtp_t *``), ``Session._cdata`` (the packet buffer, 1,500 bytes) and ``Session._buffer``
(a cffi buffer over it), and ``pylibsrtp._binding.lib.srtp_protect``. ``native_handles``
gives the native sender (``_sendout.c``) the addresses of the last two: libsrtp 2's
``srtp_protect(srtp_t, void *, int *)`` and the session's ``srtp_t``.
``missing()`` checks them (``media.srtp_sealer`` and ``media.native_sender`` in ``accel``;
where any is gone, pylibsrtp's own ``protect`` seals) and each ``PacketSealer`` re-checks
its session. One session is used by one thread only (the
event loop's), and each call leaves nothing behind in the shared buffer that a later call,
ours or pylibsrtp's, depends on.
"""

from __future__ import annotations

import struct
from typing import NoReturn

import pylibsrtp
from pylibsrtp import Session
from pylibsrtp._binding import ffi, lib

from sidestage.platform.fast_paths import source_lacks

_RTP_FIXED_FIELDS = struct.Struct("!HII")  # sequence number, timestamp, SSRC at offset 2
_SESSION_FIELDS = ("_srtp", "_cdata", "_buffer")
SRTP_PROTECT_SIGNATURE = "srtp_err_status_t(*)(struct srtp_ctx_t_ *, void *, int *)"


class SealerError(RuntimeError):
    """pylibsrtp no longer matches what this module relies on."""


def missing() -> list[str]:
    """The private names above that this process's pylibsrtp lacks."""
    if not callable(getattr(lib, "srtp_protect", None)):
        return ["pylibsrtp._binding.lib.srtp_protect"]
    # What the native sender calls it as: libsrtp 2's in-place protect.
    signature = ffi.getctype(ffi.typeof(ffi.addressof(lib, "srtp_protect")))
    found = [] if signature == SRTP_PROTECT_SIGNATURE else [f"srtp_protect as {signature}"]
    fields = (f"self.{name}" for name in _SESSION_FIELDS)
    return found + source_lacks(Session.__init__, *fields)


class PacketSealer:
    """Stamps an RTP packet template for one viewer and applies that viewer's SRTP."""

    __slots__ = ("_srtp", "_cdata", "_buffer", "_room", "_length")

    def __init__(self, session: Session) -> None:
        state = vars(session)
        missing = [name for name in _SESSION_FIELDS if name not in state]
        if missing:
            _fail(f"Session instances have no {', '.join(missing)}")
        self._srtp = state["_srtp"][0]
        self._cdata = state["_cdata"]
        self._buffer = state["_buffer"]
        # Room left for libsrtp's authentication tag, as Session.protect leaves it.
        self._room = len(self._buffer) - pylibsrtp.SRTP_MAX_TRAILER_LEN
        self._length = ffi.new("int *")

    def seal(self, template: bytes, sequence: int, timestamp: int, ssrc: int) -> bytes:
        """``template`` (an RTP packet) with these header fields, protected: what to send."""
        size = len(template)
        if size > self._room:
            raise ValueError(f"an RTP packet of {size} bytes does not fit the SRTP buffer")
        buffer = self._buffer
        buffer[0:size] = template
        _RTP_FIXED_FIELDS.pack_into(buffer, 2, sequence, timestamp, ssrc)
        length = self._length
        length[0] = size
        status = lib.srtp_protect(self._srtp, self._cdata, length)
        if status != lib.srtp_err_status_ok:
            raise pylibsrtp.Error(pylibsrtp.ERRORS[status])
        return buffer[0 : length[0]]


def native_handles(session: Session) -> tuple[int, int]:
    """``srtp_protect``'s address and the session's ``srtp_t``, for ``_sendout.Target``.

    The ``srtp_t`` lives as long as ``session`` (pylibsrtp frees it when the session is
    collected): whoever holds the address must hold the session too, as a Target does.
    """
    srtp = vars(session).get("_srtp")
    if srtp is None:
        _fail("Session instances have no _srtp")
    function = ffi.cast("uintptr_t", ffi.addressof(lib, "srtp_protect"))
    return int(function), int(ffi.cast("uintptr_t", srtp[0]))


def stamp(template: bytes, sequence: int, timestamp: int, ssrc: int) -> bytes:
    """``template`` with these header fields, in clear: a retransmission, which aiortc
    protects itself on the way out."""
    packet = bytearray(template)
    _RTP_FIXED_FIELDS.pack_into(packet, 2, sequence, timestamp, ssrc)
    return bytes(packet)


def _fail(reason: str) -> NoReturn:
    raise SealerError(f"pylibsrtp: {reason} (see media/accel/sealer.py)")
