"""The raw reference: aiohttp websockets speaking just enough Engine.IO and Socket.IO.

What a hand-written server does at best: each broadcast is encoded and framed once and
written to every member's transport in one loop. Same commands as the Node reference.

    python bench/fanout_kit/raw_server.py PORT
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections import defaultdict
from typing import Any

from aiohttp import web

from sidestage.cli import LISTEN_BACKLOG
from sidestage.realtime.accel.fanout import text_frame

OPEN = json.dumps(
    {"upgrades": [], "pingInterval": 25000, "pingTimeout": 20000, "maxPayload": 1000000}
)
rooms: dict[str, set[asyncio.Transport]] = defaultdict(set)
tallies: dict[str, list[int]] = {}
dirty: set[str] = set()


def broadcast(room: str, event: str, payload: Any) -> None:
    frame = text_frame("42" + json.dumps([event, payload]))
    for transport in rooms[room]:
        if not transport.is_closing():
            transport.write(frame)


def handle(event: str, payload: Any, joined: set[str], transport: asyncio.Transport) -> Any:
    room = str(payload.get("session_id", payload.get("poll_id")))  # a poll id names its room
    if event == "room.enter":
        rooms[room].add(transport)
        joined.add(room)
        return {"ok": True, "data": {"session_id": payload["session_id"]}}
    if event == "chat.send":
        broadcast(room, "chat.posted", {"text": payload["text"]})
        return {"ok": True, "data": {}}
    if event == "poll.vote":
        tally = tallies.setdefault(room, [0, 0])
        tally[payload["choices"][0]] += 1
        dirty.add(room)
        return {"ok": True, "data": {}}
    return {"ok": False, "error": {"code": "unknown"}}


async def socket_io(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(compress=False, max_msg_size=0)
    await ws.prepare(request)
    transport = request.transport
    assert transport is not None
    joined: set[str] = set()
    await ws.send_str("0" + OPEN[:1] + f'"sid":"{uuid.uuid4().hex}",' + OPEN[1:])
    try:
        async for message in ws:
            text = message.data
            if text.startswith("40"):
                await ws.send_str("40" + json.dumps({"sid": uuid.uuid4().hex}))
            elif text.startswith("42"):
                start = text.index("[")
                event, payload = json.loads(text[start:])
                answer = handle(event, payload, joined, transport)
                await ws.send_str(f"43{text[2:start]}" + json.dumps([answer]))
    finally:
        for room in joined:
            rooms[room].discard(transport)
    return ws


async def results_ticker(app: web.Application) -> Any:
    async def tick() -> None:
        while True:
            await asyncio.sleep(0.1)
            for room in list(dirty):
                counts = tallies[room]
                results = {"poll_id": int(room), "voters": sum(counts), "counts": counts}
                broadcast(room, "poll.results_changed", results)
            dirty.clear()

    task = asyncio.create_task(tick())
    yield
    task.cancel()


def main() -> None:
    app = web.Application()
    app.router.add_get("/socket.io/", socket_io)
    app.cleanup_ctx.append(results_ticker)
    port = int(sys.argv[1])
    web.run_app(
        app, host="127.0.0.1", port=port, backlog=LISTEN_BACKLOG, print=None, access_log=None
    )


if __name__ == "__main__":
    main()
