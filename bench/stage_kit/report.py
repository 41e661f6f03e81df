"""What the run prints: the table (header, one line per row), the summary, the machine."""

from __future__ import annotations

import contextlib
import os
import platform
from collections.abc import Callable
from pathlib import Path

import aiortc
import av

from .common import TARGET_ADDED_MS, TARGET_VIEWERS_PER_CORE, JsonDict
from .rows import Row

HEADER = (
    f"{'mode':<10}{'media':<12}{'N':>4}{'srv%':>6}{'gen%':>6}{'deliv':>10}{'v/core':>7}"
    f"{'marg':>6}{'us/pkt':>7}{'pkt/s':>7}{'Mb/s':>6}{'added ms':>13}{'in server':>13}"
    f"{'at viewer':>13}{'load1':>11}  targets\n"
    f"{'':<26}{'server CPU, viewers process CPU (% of a core); deliv min/median':<64}"
    f"{'p50/p99':>13}{'p50/p99':>13}{'p50/p99':>13}{'before>after':>13}"
)


def line(row: Row) -> str:
    marginal = f"{row.marginal_viewers_per_core:.0f}" if row.marginal_viewers_per_core else "-"
    lat = row.latency or {}
    added = f"{lat['added_p50_ms']:.1f}/{lat['added_p99_ms']:.1f}" if lat else "-"
    inside = f"{lat['in_server_p50_ms']:.1f}/{lat['in_server_p99_ms']:.1f}" if lat else "-"
    seen = f"{lat['viewer_added_p50_ms']:.1f}/{lat['viewer_added_p99_ms']:.1f}" if lat else "-"
    return (
        f"{row.mode:<10}{row.media:<12}{row.viewers:>4}{row.server_cpu_per_s * 100:>6.1f}"
        f"{row.viewers_process_cpu_per_s * 100:>6.1f}"
        f"{row.delivered_min:>5.2f}/{row.delivered_median:.2f}{row.viewers_per_core:>7.0f}"
        f"{marginal:>6}{row.us_per_packet:>7.1f}{row.packets_per_s:>7.0f}"
        f"{row.mbit_per_viewer:>6.2f}{added:>13}{inside:>13}{seen:>13}"
        f"{row.load_before[0]:>6.2f}>{row.load_after[0]:<4.2f}  "
        f"{'SAT ' if row.saturated else ''}{_verdicts(row)}"
    )


def _verdicts(row: Row) -> str:
    parts = []
    if row.media == "video+audio":  # the target is a video one; sound rows are compared below
        ok = row.viewers_per_core >= TARGET_VIEWERS_PER_CORE
        parts.append(f"v/core>={TARGET_VIEWERS_PER_CORE} {'PASS' if ok else 'FAIL'}")
    if row.latency:
        for q in (50, 99):
            ok = row.latency[f"added_p{q}_ms"] <= TARGET_ADDED_MS
            parts.append(f"p{q}<={TARGET_ADDED_MS:g}ms {'PASS' if ok else 'FAIL'}")
    if row.switch_ms:
        parts.append(f"switch p99 {row.switch_ms['p99']:.0f} ms")
    return " ".join(parts)


def machine() -> JsonDict:
    model = platform.processor()
    with contextlib.suppress(OSError):
        names = [ln for ln in Path("/proc/cpuinfo").read_text().splitlines() if "model name" in ln]
        model = model or (names[0].split(":", 1)[1].strip() if names else "")
    return {
        "processor": model,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "aiortc": aiortc.__version__,
        "pyav": av.__version__,
    }


def _ratio(rows: list[Row], media: str) -> float | None:
    """Best forwarder over best relay viewers per core, unsaturated rows where there are some."""
    best = {}
    for mode in ("forwarder", "relay"):
        mine = [r for r in rows if r.mode == mode and r.media == media]
        mine = [r for r in mine if not r.saturated] or mine
        best[mode] = max((r.viewers_per_core for r in mine), default=0.0)
    return best["forwarder"] / best["relay"] if best["relay"] else None


def _relayed(rows: list[Row]) -> list[JsonDict]:
    """The stage over two workers, at each count: per core, and the latency per hop."""
    return [
        {
            "viewers": r.viewers,
            "viewers_per_core": r.viewers_per_core,
            "added_p50_ms": r.latency["added_p50_ms"],
            "added_p99_ms": r.latency["added_p99_ms"],
            "in_server_p99_ms": r.latency["in_server_p99_ms"],
            "added_latency_pass": r.latency["added_p99_ms"] <= TARGET_ADDED_MS,
        }
        for r in rows
        if r.mode == "relayed" and r.latency
    ]


def summary(rows: list[Row], legs: list[JsonDict]) -> JsonDict:
    """Viewers per core: the best forwarder video row; latency: at the most viewers (worst)."""
    video = [r for r in rows if r.mode == "forwarder" and r.media == "video+audio"]
    video = [r for r in video if not r.saturated] or video
    best = max(video, key=lambda r: r.viewers_per_core)
    most = max(video, key=lambda r: r.viewers)
    assert most.latency is not None
    return {
        "forwarder_video_viewers_per_core": best.viewers_per_core,
        "at_viewers": best.viewers,
        "viewers_per_core_pass": best.viewers_per_core >= TARGET_VIEWERS_PER_CORE,
        "latency_at_viewers": most.viewers,
        "added_p50_ms": most.latency["added_p50_ms"],
        "added_p99_ms": most.latency["added_p99_ms"],
        "in_server_p99_ms": most.latency["in_server_p99_ms"],
        "added_latency_pass": most.latency["added_p99_ms"] <= TARGET_ADDED_MS,
        "relayed": _relayed(rows),
        "interpretation": _interpretation(rows),
        "ratio_forwarder_over_relay_video": _ratio(rows, "video+audio"),
        "ratio_forwarder_over_relay_audio": _ratio(rows, "audio"),
        "network_leg": legs,
    }


def _interpretation(rows: list[Row]) -> JsonDict | None:
    """One channel's listeners per core beside the sound-only stage's at the same count
    (target: no fewer), and the switch times (target: p99 within a second)."""
    channel = next((r for r in rows if r.media == "channel"), None)
    if channel is None or channel.switch_ms is None:
        return None
    audio = next(
        (
            r
            for r in rows
            if r.media == "audio" and r.mode == "forwarder" and r.viewers == channel.viewers
        ),
        None,
    )
    ratio = channel.viewers_per_core / audio.viewers_per_core if audio else None
    return {
        "listeners": channel.viewers,
        "listeners_per_core": channel.viewers_per_core,
        "audio_viewers_per_core": audio.viewers_per_core if audio else None,
        "ratio_to_audio": ratio,
        "listeners_pass": ratio is not None and ratio >= TARGET_CHANNEL_RATIO,
        "switch_ms": channel.switch_ms,
        "switch_pass": channel.switch_ms["p99"] <= TARGET_SWITCH_MS,
    }


def summary_lines(summary: JsonDict) -> list[str]:
    def verdict(ok: bool) -> str:
        return "PASS" if ok else "FAIL"

    def ratio(value: float | None) -> str:
        return f"{value:.1f}x" if value else "-"

    lines = _interpretation_lines(summary.get("interpretation"), verdict)
    return lines + [
        f"forwarder, video, {summary['at_viewers']} viewers: "
        f"{summary['forwarder_video_viewers_per_core']:.0f} viewers/core "
        f"(target >= {TARGET_VIEWERS_PER_CORE}: {verdict(summary['viewers_per_core_pass'])})",
        f"forwarder, video, {summary['latency_at_viewers']} viewers: added latency per hop "
        f"p50 {summary['added_p50_ms']:.2f} ms, "
        f"p99 {summary['added_p99_ms']:.2f} ms, in the server p99 "
        f"{summary['in_server_p99_ms']:.2f} ms "
        f"(target p99 <= {TARGET_ADDED_MS:g} ms: {verdict(summary['added_latency_pass'])})",
        *(
            f"relayed over two workers, video, {r['viewers']} viewers: "
            f"{r['viewers_per_core']:.0f} viewers/core, added latency p50 "
            f"{r['added_p50_ms']:.2f} ms, p99 {r['added_p99_ms']:.2f} ms, in the servers p99 "
            f"{r['in_server_p99_ms']:.2f} ms "
            f"(target p99 <= {TARGET_ADDED_MS:g} ms: {verdict(r['added_latency_pass'])})"
            for r in summary["relayed"]
        ),
        "forwarder / MediaRelay viewers per core: "
        f"video {ratio(summary['ratio_forwarder_over_relay_video'])}, "
        f"audio {ratio(summary['ratio_forwarder_over_relay_audio'])}",
    ]


TARGET_CHANNEL_RATIO = 0.9  # a channel's listeners per core against sound-only viewers'
TARGET_SWITCH_MS = 1000  # issue 25: a language switch within a second (p99)


def _interpretation_lines(found: JsonDict | None, verdict: Callable[[bool], str]) -> list[str]:
    if not found:
        return []
    switch = found["switch_ms"]
    audio = found["audio_viewers_per_core"]
    beside = f" against {audio:.0f} sound-only viewers/core" if audio else ""
    return [
        f"interpretation channel, {found['listeners']} listeners: "
        f"{found['listeners_per_core']:.0f} listeners/core{beside} "
        f"(target ratio >= {TARGET_CHANNEL_RATIO:g}: {verdict(found['listeners_pass'])})",
        f"language switch to the new source's first frame, {switch['count']} switches: "
        f"p50 {switch['p50']:.1f} ms, p99 {switch['p99']:.1f} ms, max {switch['max']:.1f} ms "
        f"(target p99 <= {TARGET_SWITCH_MS} ms: {verdict(found['switch_pass'])})",
    ]
