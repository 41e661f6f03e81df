"""The stage's SRTP sealer: byte for byte what pylibsrtp's Session.protect makes.

End to end, every forwarding test also goes through it: a viewer whose packets were sealed
wrong fails authentication and receives no frames.
"""

from __future__ import annotations

import os
import struct

import pylibsrtp
import pytest
from pylibsrtp import Policy, Session

from sidestage.realtime.media.accel import sealer
from sidestage.realtime.media.accel.sealer import PacketSealer, SealerError

pytestmark = [pytest.mark.media, pytest.mark.fast_path("media.srtp_sealer")]

PROFILES = [
    (Policy.SRTP_PROFILE_AES128_CM_SHA1_80, 30),
    (Policy.SRTP_PROFILE_AEAD_AES_128_GCM, 28),
    (Policy.SRTP_PROFILE_AEAD_AES_256_GCM, 44),
]


def sessions(profile: int, key_length: int) -> tuple[Session, Session, Session]:
    """Two senders with one key (ours, pylibsrtp's) and the receiver that checks both."""
    key = os.urandom(key_length)

    def session(direction: int) -> Session:
        return Session(Policy(key=key, ssrc_type=direction, srtp_profile=profile))

    return (
        session(Policy.SSRC_ANY_OUTBOUND),
        session(Policy.SSRC_ANY_OUTBOUND),
        session(Policy.SSRC_ANY_INBOUND),
    )


def template(payload: bytes, marker: bool = False) -> bytes:
    """An RTP packet whose sequence number, timestamp and SSRC are left zero."""
    return bytes([0x80, 0x60 | (0x80 if marker else 0)]) + bytes(10) + payload


@pytest.mark.parametrize(("profile", "key_length"), PROFILES)
def test_sealed_packets_match_session_protect_and_authenticate(
    profile: int, key_length: int
) -> None:
    ours, theirs, receiver = sessions(profile, key_length)
    seal = PacketSealer(ours).seal
    for sequence, size in enumerate((1200, 17, 1300, 400)):
        packet = template(os.urandom(size), marker=sequence == 3)
        stamped = bytearray(packet)
        struct.pack_into("!HII", stamped, 2, sequence + 100, 90_000 + sequence, 0xCAFE)
        sealed = seal(packet, sequence + 100, 90_000 + sequence, 0xCAFE)
        assert sealed == theirs.protect(bytes(stamped))
        assert receiver.unprotect(sealed) == bytes(stamped)


def test_the_session_stays_usable_by_pylibsrtp_between_seals() -> None:
    """Retransmissions go through aiortc, which calls Session.protect on the same session."""
    ours, _, receiver = sessions(*PROFILES[0])
    sealer_ = PacketSealer(ours)
    first = sealer_.seal(template(b"a" * 900), 1, 10, 7)
    stamped = bytearray(template(b"b" * 30))
    struct.pack_into("!HII", stamped, 2, 2, 20, 7)
    middle = ours.protect(bytes(stamped))
    last = sealer_.seal(template(b"c" * 50), 3, 30, 7)
    assert [receiver.unprotect(p)[12:] for p in (first, middle, last)] == [
        b"a" * 900,
        b"b" * 30,
        b"c" * 50,
    ]


def test_libsrtp_errors_and_oversized_packets_are_raised() -> None:
    ours, _, _ = sessions(*PROFILES[0])
    seal = PacketSealer(ours).seal
    seal(template(b"x" * 10), 5, 0, 1)
    with pytest.raises(pylibsrtp.Error, match="replay"):
        seal(template(b"x" * 10), 5, 0, 1)  # the same index again
    with pytest.raises(ValueError, match="does not fit"):
        seal(template(bytes(1500)), 6, 0, 1)


def test_a_moved_private_name_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    assert sealer.missing() == []
    monkeypatch.setattr(sealer, "lib", object())
    assert sealer.missing() == ["pylibsrtp._binding.lib.srtp_protect"]
    monkeypatch.undo()
    session = Session(Policy(key=os.urandom(30), ssrc_type=Policy.SSRC_ANY_OUTBOUND))
    del session._buffer
    with pytest.raises(SealerError, match="_buffer"):
        PacketSealer(session)
