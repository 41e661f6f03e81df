"""What the run prints: the table (header, one line per row), the summary, the machine."""

from __future__ import annotations

import contextlib
import os
import platform
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
    if row.media != "audio":
        ok = row.viewers_per_core >= TARGET_VIEWERS_PER_CORE
        parts.append(f"v/core>={TARGET_VIEWERS_PER_CORE} {'PASS' if ok else 'FAIL'}")
    if row.latency:
        for q in (50, 99):
            ok = row.latency[f"added_p{q}_ms"] <= TARGET_ADDED_MS
            parts.append(f"p{q}<={TARGET_ADDED_MS:g}ms {'PASS' if ok else 'FAIL'}")
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
        "ratio_forwarder_over_relay_video": _ratio(rows, "video+audio"),
        "ratio_forwarder_over_relay_audio": _ratio(rows, "audio"),
        "network_leg": legs,
    }


def summary_lines(summary: JsonDict) -> list[str]:
    def verdict(ok: bool) -> str:
        return "PASS" if ok else "FAIL"

    def ratio(value: float | None) -> str:
        return f"{value:.1f}x" if value else "-"

    return [
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
