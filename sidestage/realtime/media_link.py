"""How app processes and media workers talk over Redis: channels and message shapes.

An app process sends a request on the worker's channel (pub/sub: a worker that is not
listening gets nothing, and PUBLISH says so at once) and waits for the reply on its own
channel. Requests that concern every worker (a signalling connection went away) go on the
shared channel and get no reply. Each room's stage as the room must show it (publications,
recording) is kept in a Redis key by its worker, so entering a room needs no round trip.

    request: {"id", "reply_to", "op", "args"}
    reply:   {"id", "ok": true, "result"} or {"id", "ok": false, "error": {...} | null}
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from sidestage.platform.errors import (
    Forbidden,
    InvalidInput,
    NotFound,
    SidestageError,
    Unavailable,
)

log = logging.getLogger(__name__)
PREFIX = "sidestage:media"
EVERY_WORKER = f"{PREFIX}:all"
STATE_TTL = 20  # seconds: a worker renews its rooms' state on each heartbeat (5 s)
REPLY_WITHIN = 20.0  # seconds: ICE gathering (STUN, TURN) can take several

# The refusals a worker may answer with; anything else is the worker's failure.
REFUSALS: dict[str, type[SidestageError]] = {
    cls.__name__: cls for cls in (InvalidInput, NotFound, Forbidden, Unavailable)
}


def requests_channel(worker: str) -> str:
    return f"{PREFIX}:worker:{worker}"


def replies_channel(process: str) -> str:
    return f"{PREFIX}:replies:{process}"


def state_key(session_id: int) -> str:
    return f"{PREFIX}:stage:{session_id}"


def refusal_to_wire(error: SidestageError) -> dict[str, Any] | None:
    if type(error).__name__ not in REFUSALS:
        return None
    return {
        "kind": type(error).__name__,
        "code": error.code,
        "message": error.message,
        "details": error.details,
    }


def refusal_from_wire(error: dict[str, Any]) -> SidestageError:
    cls = REFUSALS[error["kind"]]
    return cls(error["code"], error["message"], details=error.get("details"))


async def messages(pubsub: PubSub) -> AsyncIterator[bytes]:
    """What arrives on ``pubsub``'s channels, across Redis restarts (it subscribes again)."""
    while True:
        try:
            async for message in pubsub.listen():
                yield message["data"]
        except (RedisError, OSError):
            log.warning("lost the media channels' Redis connection; listening again in 1 s")
            await asyncio.sleep(1.0)
