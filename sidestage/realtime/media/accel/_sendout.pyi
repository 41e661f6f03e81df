"""Types of the native sender, ``_sendout.c`` (see ``sendout.py``)."""

from typing import Any

class Target:
    """One viewer's SRTP session, socket, address, SSRC, next sequence number, history."""

    sequence: int
    ssrc: int

    def __init__(
        self,
        *,
        protect: int,
        srtp: int,
        session: object,
        sock: Any,
        family: int,
        address: tuple[str, int],
        ssrc: int,
        sequence: int,
    ) -> None: ...
    def send(self, templates: list[bytes], timestamp: int, direct: bool) -> list[bytes] | None:
        """Seal and, if ``direct``, send; the sealed packets the kernel did not take."""
    def lookup(self, sequence: int) -> tuple[bytes, int] | None:
        """(template, timestamp) of a packet still in the history, or None."""
