"""Recording the stage with a real aiortc publisher on loopback, probed with PyAV.

The recorder remuxes the forwarded frames: the server never decodes nor encodes them, and
the file plays (decodes, in sync, from a keyframe) even when the publisher drops.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import av
import pytest

from sidestage.realtime.media.frame_size import frame_size
from sidestage.realtime.media.recorder import Recorder, Recording, list_recordings
from tests.media_kit import (
    H264_SKIP,
    HEIGHT,
    TIMEOUT,
    WIDTH,
    CodecUse,
    publishing,
)

SESSION = 7
VIDEO_FRAMES, AUDIO_FRAMES = 90, 150  # about 3 s of each


pytestmark = [pytest.mark.usefixtures("loopback_ice"), pytest.mark.media]


@dataclass
class Probe:
    """What a player would find in the file."""

    video_codec: str
    size: tuple[int, int]
    audio_codec: str
    audio_header: bytes
    duration: float
    video_frames: int = 0
    audio_frames: int = 0
    video_keyframes: list[bool] = field(default_factory=list)
    video_pts: list[float] = field(default_factory=list)
    audio_pts: list[float] = field(default_factory=list)


def probe(path: Path) -> Probe:
    with av.open(str(path)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert container.duration is not None
        found = Probe(
            video.codec_context.name,
            (video.codec_context.width, video.codec_context.height),
            audio.codec_context.name,
            audio.codec_context.extradata or b"",
            container.duration / 1_000_000,
        )
        for packet in container.demux(video, audio):
            frames = len(packet.decode())  # the empty packet at the end flushes the decoder
            if packet.pts is None:
                continue
            assert packet.time_base is not None
            seconds = float(packet.pts * packet.time_base)
            if packet.stream is video:
                found.video_frames += frames
                found.video_keyframes.append(packet.is_keyframe)
                found.video_pts.append(seconds)
            else:
                found.audio_frames += frames
                found.audio_pts.append(seconds)
    return found


def assert_playable(found: Probe, recorder: Recorder, codec: str) -> None:
    assert (found.video_codec, found.size, found.audio_codec) == (codec, (WIDTH, HEIGHT), "opus")
    assert found.audio_header.startswith(b"OpusHead")
    # Every frame written decodes: it starts at a keyframe and nothing is missing.
    assert found.video_frames == recorder.written["video"] == len(found.video_pts)
    assert found.audio_frames == recorder.written["audio"] == len(found.audio_pts)
    assert found.video_keyframes[0] and found.video_pts[0] == 0.0
    for pts in (found.video_pts, found.audio_pts):
        assert all(a < b for a, b in zip(pts, pts[1:], strict=False))
    # In sync: both tracks span the same stretch of time, give or take a frame or two.
    assert abs(found.audio_pts[0] - found.video_pts[0]) < 0.2
    assert abs(found.audio_pts[-1] - found.video_pts[-1]) < 0.2


def never_opened_codecs(recorder: Recorder) -> bool:
    output = recorder._output
    assert output is not None
    return all(s.codec_context is None or not s.codec_context.is_open for s in output.streams)


async def wait_written(recorder: Recorder, video: int, audio: int) -> None:
    await asyncio.wait_for(recorder.wait_for("video", video), TIMEOUT)
    await asyncio.wait_for(recorder.wait_for("audio", audio), TIMEOUT)


@pytest.mark.parametrize(
    ("video_codec", "codec", "suffix", "encoder"),
    [
        pytest.param("VP8", "vp8", ".webm", "Vp8Encoder", id="vp8+opus"),
        pytest.param("H264", "h264", ".mkv", "H264Encoder", id="h264+opus", marks=H264_SKIP),
    ],
)
async def test_records_the_stage_without_transcoding(
    video_codec: str, codec: str, suffix: str, encoder: str, tmp_path: Path, codec_use: CodecUse
) -> None:
    async with publishing(video_codec) as (_, publisher):
        recorder = Recorder(tmp_path, SESSION, publisher.forwarders)
        try:
            await asyncio.wait_for(recorder.wait_for("video", 1), TIMEOUT)
            first_at = time.monotonic()
            await wait_written(recorder, VIDEO_FRAMES, AUDIO_FRAMES)
            assert never_opened_codecs(recorder)
        finally:
            path = recorder.stop()
        elapsed = time.monotonic() - first_at

    assert path is not None and path.suffix == suffix
    found = probe(path)
    assert_playable(found, recorder, codec)
    assert found.duration == pytest.approx(elapsed, abs=0.3)
    # Only the publisher encoded, once per track; nothing on the server decoded.
    assert codec_use.counts() == ({encoder: 1, "OpusEncoder": 1}, {})

    [listed] = list_recordings(tmp_path)
    assert listed == Recording(SESSION, path, path.stat().st_size, listed.started_at)
    assert datetime.now(UTC) - listed.started_at < timedelta(minutes=1)
    assert list_recordings(tmp_path, SESSION + 1) == []
    print(f"{codec}: {dict(recorder.written)} in {found.duration:.2f}s, {listed.size} bytes")


async def test_a_publisher_dropping_and_rejoining_leaves_one_playable_file(
    tmp_path: Path,
) -> None:
    async with publishing("VP8") as (pc, publisher):
        recorder = Recorder(tmp_path, SESSION, publisher.forwarders)
        try:
            await wait_written(recorder, 30, 50)
            await pc.close()  # the speaker's connection is gone mid-stream
            for forwarder in publisher.forwarders:
                await asyncio.wait_for(forwarder.ended.wait(), TIMEOUT)
            before = recorder.written["video"]
            async with publishing("VP8") as (_, again):
                assert recorder.attach(again.forwarders) == []  # same streams, same file
                await wait_written(recorder, before + 30, recorder.written["audio"] + 50)
        finally:
            path = recorder.stop()

    assert path is not None
    assert_playable(probe(path), recorder, "vp8")
    assert [r.path for r in list_recordings(tmp_path, SESSION)] == [path]


async def test_a_stage_that_ends_abruptly_leaves_a_playable_file(tmp_path: Path) -> None:
    async with publishing("VP8") as (pc, publisher):
        recorder = Recorder(tmp_path, SESSION, publisher.forwarders)
        await wait_written(recorder, 30, 50)
        await publisher.close()  # the server drops the stage: forwarders stop mid-stream
        path = recorder.stop()
        assert recorder.stop() == path  # stopping twice is harmless

    assert path is not None
    assert_playable(probe(path), recorder, "vp8")


async def test_nothing_is_recorded_before_a_keyframe(tmp_path: Path) -> None:
    async with publishing("VP8") as (_, publisher):
        recorder = Recorder(tmp_path, SESSION, publisher.forwarders)
        assert recorder.stop() is None
    assert list_recordings(tmp_path) == []


def _keyframe(codec: str, width: int, height: int) -> bytes:
    """A keyframe from PyAV's encoder (test-side only), to check the size parsers."""
    context = av.CodecContext.create(codec, "w")
    assert isinstance(context, av.VideoCodecContext)
    context.width, context.height, context.pix_fmt = width, height, "yuv420p"
    context.time_base = Fraction(1, 30)
    frame = av.VideoFrame(width, height, "yuv420p")
    for plane in frame.planes:
        plane.update(bytes(plane.buffer_size))
    frame.pts = 0
    return b"".join(bytes(p) for p in [*context.encode(frame), *context.encode(None)][:1])


@pytest.mark.parametrize(
    ("codec", "size"),
    [
        pytest.param("libvpx", (322, 181), id="vp8"),
        pytest.param("libx264", (1920, 1080), id="h264-cropped", marks=H264_SKIP),
        pytest.param("libx264", (356, 202), id="h264-odd", marks=H264_SKIP),
    ],
)
def test_keyframe_sizes_are_read_from_the_bitstream(codec: str, size: tuple[int, int]) -> None:
    name = "vp8" if codec == "libvpx" else "h264"
    assert frame_size(name, _keyframe(codec, *size)) == size
    assert frame_size(name, b"\x01\x02\x03") is None
