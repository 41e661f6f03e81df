"""What the publisher sends: VP8 that really fills 1 Mbit/s, and Opus with real work to do."""

from __future__ import annotations

import asyncio
import math
import os
import struct
import time
from fractions import Fraction

import av
from aiortc import AudioStreamTrack
from aiortc.mediastreams import MediaStreamTrack

from .common import FPS, HEIGHT, NOISE_ROWS, VIDEO_CLOCK, WIDTH


class NoisyPattern(MediaStreamTrack):
    """640x480 at 30 fps whose pts is the capture time (90 kHz) from the track's start."""

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
        self._size = frame.planes[0].buffer_size
        self._line = frame.planes[0].line_size
        self._luma = bytes((i % self._line + i // self._line) % 256 for i in range(self._size))
        self._luma += self._luma[:256]
        self._noise = os.urandom(self._line * NOISE_ROWS * 64)
        self._chroma = [bytes([128]) * p.buffer_size for p in frame.planes[1:]]
        self._start = time.time()
        self._count = 0

    async def recv(self) -> av.VideoFrame:
        self._count += 1
        await asyncio.sleep(max(0.0, self._start + self._count / FPS - time.time()))
        captured = time.time()
        frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
        frame.planes[0].update(self._luma_for(self._count))
        for plane, chroma in zip(frame.planes[1:], self._chroma, strict=True):
            plane.update(chroma)
        # Real capture times jitter by a few ticks: that makes timestamp sequences alignable.
        frame.pts = round((captured - self._start) * VIDEO_CLOCK)
        frame.time_base = Fraction(1, VIDEO_CLOCK)
        return frame

    def _luma_for(self, count: int) -> bytes:
        shift = (count * 3) % 256
        band = self._line * NOISE_ROWS
        start = (count * 7919 * self._line) % (len(self._noise) - band)
        return self._luma[shift : shift + self._size - band] + self._noise[start : start + band]


class Tone(AudioStreamTrack):
    """A 400 Hz tone with some noise: Opus gets real work, unlike aiortc's silence."""

    def __init__(self) -> None:
        super().__init__()
        rate, samples = 8000, 160  # aiortc's AudioStreamTrack: 20 ms of 8 kHz mono s16
        tone = [round(6000 * math.sin(2 * math.pi * 400 * i / rate)) for i in range(samples)]
        self._blocks = [
            struct.pack(
                f"<{samples}h", *(t + (b - 128) * 8 for t, b in zip(tone, noise, strict=True))
            )
            for noise in (os.urandom(samples) for _ in range(16))
        ]
        self._count = 0

    async def recv(self) -> av.AudioFrame:
        frame = await super().recv()
        assert isinstance(frame, av.AudioFrame)
        self._count += 1
        frame.planes[0].update(self._blocks[self._count % len(self._blocks)])
        return frame
