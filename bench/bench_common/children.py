"""Parent and children talk JSON lines: one request per stdin line, one reply per stdout line.

Each role runs in its own process, so each side's CPU is its own. A child is the bench's
entry script started again with ``--role``; that also puts ``bench/`` on its path.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

LINE_LIMIT = 1 << 26  # one JSON reply per line, arrival lists included

JsonDict = dict[str, Any]
Handler = Callable[[JsonDict], Awaitable[Any]]


class BenchError(RuntimeError):
    """The setup did not work (a process died, a message is missing): not a result."""


async def serve(handlers: dict[str, Handler], close: Handler) -> None:
    """A child's loop: one JSON request per stdin line, one JSON reply per stdout line."""
    loop = asyncio.get_running_loop()
    handlers = {"cpu": _cpu, **handlers}
    reader = asyncio.StreamReader(limit=LINE_LIMIT)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        request = json.loads(line)
        op = request["op"]
        try:
            reply = {"ok": True, "data": await (close if op == "close" else handlers[op])(request)}
        except Exception:
            reply = {"ok": False, "error": traceback.format_exc()}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
        if op == "close":
            return
    await close({})  # the parent went away: still close everything


async def _cpu(request: JsonDict) -> float:
    return time.process_time()


class Child:
    """The parent's handle on one child process."""

    def __init__(self, role: str, process: asyncio.subprocess.Process) -> None:
        self.role = role
        self._process = process

    @classmethod
    async def start(cls, entry: str, role: str, *extra: str) -> Child:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            entry,
            "--role",
            role,
            *extra,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=LINE_LIMIT,
        )
        return cls(role, process)

    async def call(self, op: str, wait_s: float = 120.0, **params: Any) -> Any:
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write(json.dumps({"op": op, **params}).encode() + b"\n")
        await self._process.stdin.drain()
        line = await asyncio.wait_for(self._process.stdout.readline(), wait_s)
        if not line:
            raise BenchError(f"the {self.role} process exited ({self._process.returncode})")
        reply = json.loads(line)
        if not reply["ok"]:
            raise BenchError(f"the {self.role} process failed {op}:\n{reply['error']}")
        return reply["data"]

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.call("close", wait_s=60)
        try:
            await asyncio.wait_for(self._process.wait(), 20)
        except TimeoutError:
            self._process.kill()  # our own child, by its handle
            await self._process.wait()
