"""Long-polling POSTs over the size engine.io accepts are answered 413, at once.

python-engineio 4.15 checks a POST's ``Content-Length`` against ``max_http_buffer_size``
and, past it, disconnects the session before answering; that disconnect waits until the
client's queued packets are fetched by its next GET, which a client waiting for its POST's
answer never sends, so the POST was never answered. Here the size is checked before
engine.io sees the request: the POST gets 413, and the session is closed without waiting
(its CLOSE packet goes out on the client's next GET), as engine.io meant to.

Uses ``AsyncServer.sockets``, ``.reason`` and ``AsyncSocket.close(wait=...)`` (engine.io's
own disconnect calls it): ``missing()`` checks them; where any is gone, engine.io's own
check runs again, with its defect.
"""

from __future__ import annotations

import inspect
from typing import Any

import engineio
from aiohttp import web

from sidestage.platform.fast_paths import lacking, source_lacks


class BoundedPosts(engineio.AsyncServer):  # type: ignore[misc]
    async def handle_request(self, *args: Any, **kwargs: Any) -> Any:
        request = args[0] if args else None
        if isinstance(request, web.Request) and self._too_large(request):
            await self._close(request.query.get("sid"))
            return web.Response(status=413, text="The message is too large.")
        return await super().handle_request(*args, **kwargs)

    def _too_large(self, request: web.Request) -> bool:
        return (
            request.method == "POST" and (request.content_length or 0) > self.max_http_buffer_size
        )

    async def _close(self, sid: str | None) -> None:
        socket = self.sockets.get(sid) if sid else None
        if socket is not None and not socket.closed:
            await socket.close(wait=False, reason=self.reason.TRANSPORT_ERROR)


def missing() -> list[str]:
    close = inspect.signature(engineio.async_socket.AsyncSocket.close).parameters
    return [
        *lacking(engineio.AsyncServer, "handle_request", "reason"),
        *source_lacks(engineio.base_server.BaseServer.__init__, "self.sockets = {}"),
        *([] if "wait" in close and "reason" in close else ["AsyncSocket.close(wait, reason)"]),
    ]
