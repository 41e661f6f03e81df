"""A publication's encoded frames, relayed from the worker it is published on to another.

Why: a worker fans each frame out on one core, viewer after viewer, so both its CPU and
the delay until its last viewer gets the frame grow with its viewers (at 100 video viewers
the last one gets each frame about 5 ms after the first, ``bench/stage.py``). A room whose
viewers outgrow one worker's budget takes further workers: each such edge receives every
frame once from the origin (the worker the speaker publishes to) over one TCP connection
per publication, and fans it out to its own viewers with the same ``Forwarder``.

Wire, on the workers' internal network:

- edge to origin: one JSON line ``{"publication": id, "token": ...}`` (the token is an HMAC
  of the id with the deployment's secret, so the port serves no one else), then one byte
  per keyframe request: the index of the track that needs one;
- origin to edge: one JSON line, ``{"error": code}`` or the publication's description
  (``account_id``, ``source``, and each track's codec), then frames, each a ``FRAME``
  header (track index, flags, pts, length) and the encoded frame.

An edge that cannot keep up does not make the origin buffer without bound: past
``MAX_BUFFERED`` bytes waiting in the socket, the origin drops that edge's frames (video up
to the next keyframe, which it asks the publisher for), as a forwarder drops frames for a
viewer.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import struct
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
from aiortc import RTCRtpCodecParameters
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from sidestage.realtime.media.forwarder import Forwarder

log = logging.getLogger(__name__)
FRAME = struct.Struct("!BBqI")  # track index, flags, pts, length of the frame that follows
KEYFRAME = 0x01
MAX_BUFFERED = 2_000_000  # bytes queued for one edge before its frames are dropped
MAX_FRAME = 8_000_000  # an encoded frame larger than this is a broken stream
HELLO_WITHIN = 10.0  # seconds either side has to say what it wants


class RelayRefused(Exception):
    """The origin would not relay the publication (gone, or the token is wrong)."""


@dataclass(frozen=True)
class Published:
    """What an origin tells an edge about a publication."""

    session_id: int
    account_id: int
    source: str
    codecs: list[RTCRtpCodecParameters]


def relay_token(secret: bytes, publication_id: str) -> str:
    return hmac.new(secret, publication_id.encode(), hashlib.sha256).hexdigest()


def codec_to_wire(codec: RTCRtpCodecParameters) -> dict[str, Any]:
    return {
        "mimeType": codec.mimeType,
        "clockRate": codec.clockRate,
        "channels": codec.channels,
        "payloadType": codec.payloadType,
        "parameters": dict(codec.parameters),
    }


def codec_from_wire(data: dict[str, Any]) -> RTCRtpCodecParameters:
    return RTCRtpCodecParameters(
        mimeType=str(data["mimeType"]),
        clockRate=int(data["clockRate"]),
        channels=data["channels"],
        payloadType=data["payloadType"],
        parameters=dict(data["parameters"]),
    )


# The origin


LookUp = Callable[[str], tuple[Published, list[Forwarder]] | None]


class RelayServer:
    """The origin's side: serves each publication it holds to the edges that ask."""

    def __init__(self, look_up: LookUp, secret: bytes, host: str = "127.0.0.1") -> None:
        self._look_up = look_up
        self._secret = secret
        self._host = host
        self._server: asyncio.Server | None = None
        self._streams: dict[asyncio.Task[None], asyncio.StreamWriter] = {}

    @property
    def edges(self) -> int:
        """Connections open now, each one edge relaying one publication."""
        return len(self._streams)

    async def start(self) -> str:
        """Listen on an unused port; returns the ``host:port`` edges connect to."""
        self._server = await asyncio.start_server(self._serve, self._host, 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"{self._host}:{port}"

    async def close(self) -> None:
        """Stop listening and hang up on every edge (their viewers' tracks end)."""
        if self._server is not None:
            self._server.close()
        for writer in self._streams.values():
            writer.transport.abort()  # each stream then sees the edge gone, and returns
        await asyncio.gather(*self._streams, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._streams[task] = writer
        try:
            found = await self._hello(reader, writer)
            if found is not None:
                await _stream(reader, writer, *found)
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError, ValueError):
            pass  # the edge went away, never spoke, or sent an endless line: just hang up
        except asyncio.CancelledError:
            # Only the loop's shutdown cancels this task and nothing awaits it; on Python
            # 3.11 the streams module reports a handler that ends cancelled as an error.
            pass
        finally:
            del self._streams[task]
            writer.close()

    async def _hello(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> tuple[Published, list[Forwarder]] | None:
        """The publication the edge asked for, described to it; None if refused."""
        async with asyncio.timeout(HELLO_WITHIN):
            line = await reader.readline()
        try:
            request = json.loads(line)
            publication_id, token = str(request["publication"]), str(request["token"])
        except (ValueError, KeyError, TypeError):
            _refuse(writer, "relay.bad_request")
            return None
        expected = relay_token(self._secret, publication_id)
        if not hmac.compare_digest(token.encode(), expected.encode()):
            _refuse(writer, "relay.forbidden")
            return None
        found = self._look_up(publication_id)
        if found is None:
            _refuse(writer, "relay.not_found")
            return None
        published, forwarders = found
        description = {
            "session_id": published.session_id,
            "account_id": published.account_id,
            "source": published.source,
            "codecs": [codec_to_wire(c) for c in published.codecs],
        }
        writer.write(json.dumps(description).encode() + b"\n")
        return found


def _refuse(writer: asyncio.StreamWriter, code: str) -> None:
    """Tells the edge why not: there is nothing to stream to it."""
    writer.write(json.dumps({"error": code}).encode() + b"\n")


async def _stream(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    published: Published,
    forwarders: list[Forwarder],
) -> None:
    """Frames to the edge until it hangs up or the publication ends."""
    outlets = [_Outlet(index, f, writer) for index, f in enumerate(forwarders)]
    unsubscribe = [f.subscribe(outlet) for f, outlet in zip(forwarders, outlets, strict=True)]
    requests = asyncio.create_task(_keyframe_requests(reader, forwarders))
    ended = [asyncio.create_task(f.ended.wait()) for f in forwarders]
    try:
        await asyncio.wait([requests, *ended], return_when=asyncio.FIRST_COMPLETED)
        if writer.transport.get_write_buffer_size():
            with contextlib.suppress(ConnectionError, TimeoutError):
                async with asyncio.timeout(HELLO_WITHIN):
                    await writer.drain()  # the last frames, then the end of the stream
    finally:
        for stop in unsubscribe:
            stop()
        for task in [requests, *ended]:
            task.cancel()


async def _keyframe_requests(reader: asyncio.StreamReader, forwarders: list[Forwarder]) -> None:
    """Until the edge hangs up: each byte asks one track for a keyframe."""
    while chunk := await reader.read(64):
        for index in chunk:
            if index < len(forwarders):
                forwarders[index].request_keyframe()


class _Outlet:
    """One track's frames to one edge, dropped while the edge's socket is backed up."""

    def __init__(self, index: int, forwarder: Forwarder, writer: asyncio.StreamWriter) -> None:
        self._index = index
        self._forwarder = forwarder
        self._writer = writer
        self._video = forwarder.kind == "video"
        self._behind = False

    def __call__(self, packet: av.Packet) -> None:
        transport = self._writer.transport
        if transport.is_closing():
            return
        keyframe = bool(packet.is_keyframe)
        if self._behind and not keyframe:
            return  # a delta after a dropped frame: the edge could not decode it
        if transport.get_write_buffer_size() > MAX_BUFFERED:
            self._behind = self._video
            self._forwarder.request_keyframe()
            return
        self._behind = False
        data = bytes(packet)
        flags = KEYFRAME if keyframe else 0
        transport.write(FRAME.pack(self._index, flags, packet.pts or 0, len(data)) + data)


# The edge


class RelayedSource:
    """One relayed track, read by the edge's ``Forwarder`` (a ``forwarder.PacketSource``)."""

    def __init__(
        self, index: int, codec: RTCRtpCodecParameters, upstream: asyncio.StreamWriter
    ) -> None:
        self.kind = codec.mimeType.split("/")[0].lower()
        self.codec = codec
        self.track = _RelayedTrack(self.kind)
        self.clock = Fraction(1, codec.clockRate)
        self._index = index
        self._upstream = upstream

    async def send_pli(self) -> bool:
        if self._upstream.is_closing():
            return False
        self._upstream.write(bytes([self._index]))
        return True

    def pending(self) -> int:
        return self.track.queue.qsize()


class _RelayedTrack(MediaStreamTrack):
    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.queue: asyncio.Queue[av.Packet | None] = asyncio.Queue()

    async def recv(self) -> av.Packet:
        packet = await self.queue.get()
        if packet is None:
            raise MediaStreamError
        return packet


class Relay:
    """An edge's copy of one publication: its forwarders, fed from the origin."""

    def __init__(
        self,
        published: Published,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self.published = published
        self.ended = asyncio.Event()
        self._reader, self._writer = reader, writer
        self._sources = [RelayedSource(i, c, writer) for i, c in enumerate(published.codecs)]
        self.forwarders = [Forwarder(s) for s in self._sources]
        self._pump = asyncio.create_task(self._receive())

    @classmethod
    async def open(cls, address: str, publication_id: str, secret: bytes) -> Relay:
        """Connect to the origin at ``address``; RelayRefused if it will not relay."""
        host, _, port = address.rpartition(":")
        async with asyncio.timeout(HELLO_WITHIN):
            reader, writer = await asyncio.open_connection(host, int(port))
            try:
                hello = {
                    "publication": publication_id,
                    "token": relay_token(secret, publication_id),
                }
                writer.write(json.dumps(hello).encode() + b"\n")
                answer = json.loads(await reader.readline() or b"{}")
                if "codecs" not in answer:
                    raise RelayRefused(answer.get("error", "relay.closed"))
                published = Published(
                    int(answer["session_id"]),
                    int(answer["account_id"]),
                    str(answer["source"]),
                    [codec_from_wire(c) for c in answer["codecs"]],
                )
            except BaseException:
                writer.close()
                raise
        return cls(published, reader, writer)

    async def close(self) -> None:
        self._pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._pump
        await asyncio.gather(*(f.stop() for f in self.forwarders))

    async def _receive(self) -> None:
        try:
            while True:
                header = await self._reader.readexactly(FRAME.size)
                index, flags, pts, length = FRAME.unpack(header)
                if index >= len(self._sources) or length > MAX_FRAME:
                    log.error("a relay sent a frame for track %s of %s bytes", index, length)
                    return
                data = await self._reader.readexactly(length)
                self._deliver(self._sources[index], data, pts, bool(flags & KEYFRAME))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the publication ended at the origin, or the origin went away
        finally:
            self._writer.close()
            for source in self._sources:
                source.track.queue.put_nowait(None)  # each forwarder ends its viewers
            self.ended.set()

    @staticmethod
    def _deliver(source: RelayedSource, data: bytes, pts: int, keyframe: bool) -> None:
        packet = av.Packet(data)
        packet.pts = pts
        packet.time_base = source.clock
        packet.is_keyframe = keyframe
        source.track.queue.put_nowait(packet)
