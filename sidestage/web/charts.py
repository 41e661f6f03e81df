"""Geometry of the small SVG charts the pages draw on the server: scales, points and ticks.

Templates only place what these functions computed, so the arithmetic lives (and is tested)
here. Charts read left to right in every language; x grows with time.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Generic, TypeVar
from zoneinfo import ZoneInfo

T = TypeVar("T")
Step = tuple[datetime, int]  # from this moment on, this many

WIDTH = 640
STEP_HEIGHT = 220
# Room around the plot for the counts (left), the peak's label (top) and the times (bottom).
PLOT_LEFT, PLOT_TOP, PLOT_RIGHT, PLOT_BOTTOM = 40, 28, WIDTH - 36, STEP_HEIGHT - 28
SLICES = 200  # enough for a smooth line, few enough to keep the page small
TIME_STEPS = tuple(timedelta(minutes=m) for m in (5, 10, 15, 30, 60, 120, 180, 360, 720, 1440))
BAR_ORIGIN = 240  # where bars start; labels end just before
BAR_ROW, BAR_THICKNESS, BAR_VALUE_ROOM = 26, 18, 56


@dataclass(frozen=True)
class TimeTick:
    at: datetime
    x: float


@dataclass(frozen=True)
class CountTick:
    value: int
    y: float


@dataclass(frozen=True)
class Peak:
    at: datetime
    value: int
    x: float
    y: float
    label_x: float  # its label sits just above the mark, where nothing is higher
    label_y: float
    anchor: str


@dataclass(frozen=True)
class Window:
    """A stretch of time and the most people at once in it: the chart's numbers as a table."""

    start: datetime
    end: datetime
    most: int


@dataclass(frozen=True)
class StepChart:
    width: int
    height: int
    left: float
    top: float
    right: float
    bottom: float
    points: str  # an SVG polyline
    count_label_x: float
    time_label_y: float
    time_ticks: list[TimeTick]
    count_ticks: list[CountTick]
    peak: Peak | None
    windows: list[Window]


@dataclass(frozen=True)
class _Plot:
    """Where a moment and a count land in the plot area."""

    start: datetime
    end: datetime
    highest: int  # the count at the top of the plot

    def x(self, moment: datetime) -> float:
        share = (moment - self.start) / (self.end - self.start)
        return round(PLOT_LEFT + share * (PLOT_RIGHT - PLOT_LEFT), 1)

    def y(self, count: float) -> float:
        return round(PLOT_BOTTOM - count / self.highest * (PLOT_BOTTOM - PLOT_TOP), 1)

    def peak(self, moment: datetime, count: int) -> Peak:
        x, y = self.x(moment), self.y(count)
        # The label runs from the mark towards the middle, where there is room for it.
        if x > (PLOT_LEFT + PLOT_RIGHT) / 2:
            return Peak(moment, count, x, y, x + 6, y - 10, "end")
        return Peak(moment, count, x, y, x - 6, y - 10, "start")


def step_chart(steps: Sequence[Step], start: datetime, end: datetime, zone: str) -> StepChart:
    """A step line of how many were present from ``start`` to ``end`` (widened to the data)."""
    if steps:
        start, end = min(start, steps[0][0]), max(end, steps[-1][0])
    peak = peak_of(steps)
    counts = count_ticks(peak[1] if peak else 0)
    plot = _Plot(start, max(end, start + TIME_STEPS[0]), counts[-1])
    slices = even_edges(plot.start, plot.end, SLICES)
    inner = [t for t in time_ticks(plot.start, plot.end, zone, 16) if plot.start < t < plot.end]
    table = [plot.start, *inner, plot.end]
    return StepChart(
        width=WIDTH,
        height=STEP_HEIGHT,
        left=PLOT_LEFT,
        top=PLOT_TOP,
        right=PLOT_RIGHT,
        bottom=PLOT_BOTTOM,
        points=polyline(slices, maxima(steps, slices), plot.x, plot.y),
        count_label_x=PLOT_LEFT - 6,
        time_label_y=PLOT_BOTTOM + 18,
        time_ticks=[TimeTick(t, plot.x(t)) for t in time_ticks(plot.start, plot.end, zone, 7)],
        count_ticks=[CountTick(v, plot.y(v)) for v in counts],
        peak=plot.peak(*peak) if peak else None,
        windows=windows(steps, table),
    )


def peak_of(steps: Sequence[Step]) -> Step | None:
    """The first moment the count is at its highest; None when nobody was ever there."""
    best: Step | None = None
    for moment, level in steps:
        if level > 0 and (best is None or level > best[1]):
            best = (moment, level)
    return best


def windows(steps: Sequence[Step], edges: Sequence[datetime]) -> list[Window]:
    stretches = pairwise(edges)
    return [
        Window(a, b, most) for (a, b), most in zip(stretches, maxima(steps, edges), strict=True)
    ]


def maxima(steps: Sequence[Step], edges: Sequence[datetime]) -> list[int]:
    """The highest count in each stretch between consecutive edges (steps in time order)."""
    found, level, index = [], 0, 0
    for left, right in pairwise(edges):
        while index < len(steps) and steps[index][0] <= left:
            level, index = steps[index][1], index + 1
        highest = level  # the count as the stretch begins
        while index < len(steps) and steps[index][0] < right:
            level, index = steps[index][1], index + 1
            highest = max(highest, level)
        found.append(highest)
    return found


def even_edges(start: datetime, end: datetime, count: int) -> list[datetime]:
    return [start + (end - start) * i / count for i in range(count + 1)]


def polyline(
    edges: Sequence[datetime],
    levels: Sequence[int],
    x: Callable[[datetime], float],
    y: Callable[[float], float],
) -> str:
    """A step line through the levels: flat across a stretch, vertical where the level changes."""
    points = [(x(edges[0]), y(levels[0]))]
    for edge, (before, after) in zip(edges[1:-1], pairwise(levels), strict=True):
        if after != before:
            points += [(x(edge), y(before)), (x(edge), y(after))]
    points.append((x(edges[-1]), y(levels[-1])))
    return " ".join(f"{px},{py}" for px, py in points)


def time_ticks(start: datetime, end: datetime, zone: str, most: int) -> list[datetime]:
    """Round times on the local clock of ``zone`` (so 09:00, not 08:47), at most ``most``."""
    step = next((s for s in TIME_STEPS if (end - start) / s <= most), TIME_STEPS[-1])
    local = start.astimezone(ZoneInfo(zone))
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    tick = midnight + step * math.ceil((local - midnight) / step)
    ticks: list[datetime] = []
    while tick <= end and len(ticks) <= most:
        ticks.append(tick.astimezone(UTC))
        tick += step
    return ticks


def count_ticks(highest: int, most: int = 4) -> list[int]:
    """0 up to a round number at or above ``highest``, in at most ``most`` round steps."""
    step = next(s for s in _round_numbers() if math.ceil(max(highest, 1) / s) <= most)
    return list(range(0, step * math.ceil(max(highest, 1) / step) + 1, step))


def _round_numbers() -> Iterator[int]:
    for power in range(10):
        for mantissa in (1, 2, 5):
            yield mantissa * 10**power
    raise ValueError("count too large for a chart")


@dataclass(frozen=True)
class Bar(Generic[T]):
    item: T
    value: float
    y: float  # top of the bar
    length: float
    text_y: float  # baseline of its label and value
    value_x: float


@dataclass(frozen=True)
class BarChart(Generic[T]):
    width: int
    height: int
    origin: int  # bars start here
    label_x: int  # labels end here
    thickness: int
    largest: float
    bars: list[Bar[T]]


def bar_chart(items: Sequence[T], value: Callable[[T], float]) -> BarChart[T]:
    """One horizontal bar per item, in the given order, scaled to the largest value."""
    values = [value(item) for item in items]
    largest = max(values, default=0)
    scale = (WIDTH - BAR_ORIGIN - BAR_VALUE_ROOM) / max(largest, 1)
    bars = [
        Bar(
            item=item,
            value=amount,
            y=row * BAR_ROW + (BAR_ROW - BAR_THICKNESS) / 2,
            length=round(amount * scale, 1),
            text_y=row * BAR_ROW + BAR_ROW / 2 + 5,
            value_x=round(BAR_ORIGIN + amount * scale + 6, 1),
        )
        for row, (item, amount) in enumerate(zip(items, values, strict=True))
    ]
    height = max(len(items), 1) * BAR_ROW
    return BarChart(WIDTH, height, BAR_ORIGIN, BAR_ORIGIN - 8, BAR_THICKNESS, largest, bars)
