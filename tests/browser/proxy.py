"""A TCP relay between the browser and the server that a test can cut, like a train tunnel."""

from __future__ import annotations

import asyncio
import contextlib

from tests.live import free_port


class Tunnel:
    """Relays 127.0.0.1:<port> to the server; ``cut()`` drops every connection and refuses new
    ones until ``restore()``, so the page sees a real network failure, not a polite close."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.open = True
        self._links: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> Tunnel:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        return self

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def cut(self) -> None:
        self.open = False
        for writer in list(self._links):
            writer.transport.abort()  # a reset, as when the link goes, not a FIN
        self._links.clear()

    def restore(self) -> None:
        self.open = True

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.open:
            writer.transport.abort()
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                "127.0.0.1", self.target_port
            )
        except OSError:
            writer.transport.abort()
            return
        self._links.update((writer, upstream_writer))
        await asyncio.gather(
            self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer)
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        self._links.discard(writer)
        if self.open:
            writer.close()  # the other side finished: pass the close on
        else:
            writer.transport.abort()
