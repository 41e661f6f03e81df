"""The stage bench's children: the shared JSON-lines protocol, and SDP in JSON.

Each role (publisher, server, viewers) runs in its own process, so each side's CPU is its own.
"""

from __future__ import annotations

from pathlib import Path

from aiortc import RTCSessionDescription
from bench_common.children import Child, serve

from .common import JsonDict

__all__ = ["Child", "serve", "sdp_from_json", "sdp_to_json", "start_child"]

# Children run the entry script with --role: it is what puts bench/ on sys.path.
ENTRY_SCRIPT = str(Path(__file__).resolve().parent.parent / "stage.py")


async def start_child(role: str, *extra: str) -> Child:
    """One of this bench's children: ``stage.py --role ROLE``."""
    return await Child.start(ENTRY_SCRIPT, role, *extra)


def sdp_to_json(description: RTCSessionDescription | None) -> JsonDict:
    assert description is not None
    return {"sdp": description.sdp, "type": description.type}


def sdp_from_json(data: JsonDict) -> RTCSessionDescription:
    return RTCSessionDescription(sdp=data["sdp"], type=data["type"])
