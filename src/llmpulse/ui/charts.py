"""Server-side SVG chart geometry: time-series lines, horizontal bars, interval marks (no I/O).

Everything here turns numbers into SVG user units and axis labels; the templates only draw.
A time series holds only the buckets that had data: a missing bucket breaks the line (no data
is not zero), and a series without points draws nothing, so the page can say "no data".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from llmpulse.clock import EPOCH
from llmpulse.ui.formats import Formatter

PALETTE = (
    "#4f46e5", "#0d9488", "#d97706", "#e11d48", "#0284c7", "#7c3aed", "#16a34a", "#475569",
)  # fmt: skip
TIME_STEPS = tuple(
    timedelta(minutes=m) for m in (5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080)
)


@dataclass(frozen=True, slots=True)
class Series:
    """One named line: (bucket start, value) pairs, oldest first, only buckets with data."""

    name: str
    points: tuple[tuple[datetime, float], ...]


@dataclass(frozen=True, slots=True)
class Tick:
    """An axis tick: its position in SVG units and its label."""

    pos: float
    label: str


@dataclass(frozen=True, slots=True)
class Dot:
    """A data point with its tooltip text and, when the chart links, what a click opens."""

    x: float
    y: float
    label: str
    href: str = ""


PointLink = Callable[[str, datetime], str]
"""``(series name, bucket start) -> URL`` of what a click on a point opens."""


@dataclass(frozen=True, slots=True)
class Line:
    """One drawn series: stroke path, optional area path, points."""

    name: str
    color: str
    path: str
    area: str
    dots: tuple[Dot, ...]


@dataclass(frozen=True, slots=True)
class Box:
    """The SVG canvas and the plot area inside it."""

    width: float
    height: float
    left: float
    top: float
    right: float
    bottom: float


@dataclass(frozen=True, slots=True)
class LineChart:
    """A time-series chart ready to draw."""

    box: Box
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    lines: tuple[Line, ...]
    t_left: datetime = EPOCH  # the instants at box.left and box.right (drag-to-zoom maps x)
    t_right: datetime = EPOCH

    @property
    def is_empty(self) -> bool:
        """True when no series had a single point."""
        return not self.lines


def nice_step(span: float, count: int) -> float:
    """A round step (1, 2, 2.5 or 5 times a power of ten) giving about ``count`` intervals."""
    raw = span / max(count, 1)
    magnitude = 10.0 ** math.floor(math.log10(raw))
    for m in (1.0, 2.0, 2.5, 5.0):
        if raw <= m * magnitude * (1 + 1e-9):
            return m * magnitude
    return 10.0 * magnitude


def nice_ticks(lo: float, hi: float, count: int = 4) -> list[float]:
    """Round tick values covering [lo, hi] (an empty span gets a unit-sized range)."""
    if not hi > lo:
        hi = lo + (abs(lo) or 1.0)
    step = nice_step(hi - lo, count)
    start = math.floor(lo / step + 1e-9) * step
    stop = math.ceil(hi / step - 1e-9) * step
    n = round((stop - start) / step)
    return [round(start + i * step, 12) for i in range(n + 1)]


def floor_time(t: datetime, step: timedelta) -> datetime:
    """``t`` rounded down to a multiple of ``step`` since the Unix epoch (UTC)."""
    return EPOCH + ((t - EPOCH) // step) * step


def time_ticks(start: datetime, end: datetime, max_ticks: int = 6) -> list[datetime]:
    """Aligned instants between ``start`` and ``end`` at a round step, at most ``max_ticks``."""
    span = end - start
    step = next((s for s in TIME_STEPS if span / s <= max_ticks), TIME_STEPS[-1])
    t = floor_time(start, step)
    if t < start:
        t += step
    out = []
    while t <= end:
        out.append(t)
        t += step
    return out


def time_label(t: datetime, step: timedelta) -> str:
    """``14:00`` within a day, ``Nov 23`` at midnight or for day-sized steps."""
    if step >= timedelta(days=1) or (t.hour == 0 and t.minute == 0):
        return t.strftime("%b %d")
    return t.strftime("%H:%M")


def _runs(points: Sequence[tuple[datetime, float]], bucket: timedelta) -> list[list[int]]:
    """Indexes of points grouped into runs of consecutive buckets."""
    runs: list[list[int]] = []
    for i, (t, _) in enumerate(points):
        if runs and t - points[runs[-1][-1]][0] <= bucket:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


def line_chart(
    series: Sequence[Series], start: datetime, end: datetime, bucket: timedelta,
    fmt: Formatter, *, area: bool = False, width: float = 600.0, height: float = 210.0,
    link: PointLink | None = None,
) -> LineChart:  # fmt: skip
    """Lay out ``series`` on a [start, end] time axis with a y axis from 0 (or below) up.

    Each point sits at the middle of its bucket; a missing bucket breaks the line. With
    ``link``, each point links to ``link(series name, bucket start)``.
    """
    box = Box(width, height, left=58.0, top=10.0, right=width - 12.0, bottom=height - 24.0)
    drawn = [s for s in series if s.points]
    values = [v for s in drawn for _, v in s.points]
    ys = nice_ticks(min([0.0, *values]), max([0.0, *values]))
    lo, hi = ys[0], ys[-1]
    t0 = floor_time(start, bucket)
    total_s = max((end - t0).total_seconds(), 1.0)

    def x_of(t: datetime) -> float:
        frac = ((t - t0).total_seconds() + bucket.total_seconds() / 2) / total_s
        return round(box.left + min(max(frac, 0.0), 1.0) * (box.right - box.left), 2)

    def y_of(v: float) -> float:
        return round(box.bottom - (v - lo) / (hi - lo) * (box.bottom - box.top), 2)

    lines = []
    for i, s in enumerate(drawn):
        xy = [(x_of(t), y_of(v)) for t, v in s.points]
        path, fill = [], []
        for run in _runs(s.points, bucket):
            pts = " L".join(f"{xy[j][0]},{xy[j][1]}" for j in run)
            path.append(f"M{pts}" + (" h0.01" if len(run) == 1 else ""))
            first_x, last_x = xy[run[0]][0], xy[run[-1]][0]
            fill.append(f"M{first_x},{y_of(max(lo, 0.0))} L{pts} L{last_x},{y_of(max(lo, 0.0))} Z")
        dots = tuple(
            Dot(
                x,
                y,
                f"{t.strftime('%b %d %H:%M')} · {s.name}: {fmt(v)}",
                link(s.name, t) if link else "",
            )
            for (x, y), (t, v) in zip(xy, s.points, strict=True)
        )
        color = PALETTE[i % len(PALETTE)]
        lines.append(Line(s.name, color, " ".join(path), " ".join(fill) if area else "", dots))
    steps = time_ticks(start, end)
    step = steps[1] - steps[0] if len(steps) > 1 else end - start
    x_ticks = tuple(Tick(x_of(t - bucket / 2), time_label(t, step)) for t in steps)
    y_ticks = tuple(Tick(y_of(v), fmt(v)) for v in ys)
    t_right = t0 + timedelta(seconds=total_s)
    return LineChart(box, x_ticks, y_ticks, tuple(lines), t0, t_right)


@dataclass(frozen=True, slots=True)
class Bar:
    """One horizontal bar: a label, its extent, its value text, a tone and a link."""

    label: str
    y: float
    x: float
    width: float
    text: str
    tone: str
    href: str


@dataclass(frozen=True, slots=True)
class BarItem:
    """Input of `bar_chart`: one labelled value (``tone``: ``worse``, ``better`` or ``""``)."""

    label: str
    value: float | None
    tone: str = ""
    href: str = ""


@dataclass(frozen=True, slots=True)
class BarChart:
    """Horizontal bars with an optional reference line (the overall value)."""

    box: Box
    bar_height: float
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]
    reference_x: float | None
    reference_text: str


def bar_chart(
    items: Sequence[BarItem], reference: float | None, fmt: Formatter, *,
    width: float = 640.0, row: float = 24.0,
) -> BarChart:  # fmt: skip
    """Bars for the items that have a value, scaled with the reference on a shared axis."""
    shown = [i for i in items if i.value is not None and math.isfinite(i.value)]
    values = [float(i.value) for i in shown if i.value is not None]
    if reference is not None and math.isfinite(reference):
        values.append(reference)
    ticks = nice_ticks(min([0.0, *values]), max([0.0, *values]))
    lo, hi = ticks[0], ticks[-1]
    box = Box(width, 28.0 + row * len(shown), 190.0, 4.0, width - 60.0, 6.0 + row * len(shown))

    def x_of(v: float) -> float:
        return round(box.left + (v - lo) / (hi - lo) * (box.right - box.left), 2)

    bars = []
    for n, item in enumerate(shown):
        v = float(item.value or 0.0)
        x0, x1 = sorted((x_of(0.0 if lo <= 0 else lo), x_of(v)))
        label = item.label if len(item.label) <= 30 else item.label[:29] + "…"
        bars.append(
            Bar(label, box.top + n * row, x0, max(x1 - x0, 1.0), fmt(v), item.tone, item.href)
        )
    ref_ok = reference is not None and math.isfinite(reference)
    ref_x = x_of(float(reference)) if ref_ok and reference is not None else None
    ref_text = fmt(float(reference)) if ref_ok and reference is not None else ""
    x_ticks = tuple(Tick(x_of(v), fmt(v)) for v in ticks)
    return BarChart(box, row * 0.7, tuple(bars), x_ticks, ref_x, ref_text)


@dataclass(frozen=True, slots=True)
class IntervalMark:
    """A point estimate with its interval, as percentages of a shared 0..top scale."""

    value_pct: float
    low_pct: float
    high_pct: float


def interval_mark(value: float, low: float, high: float, top: float) -> IntervalMark:
    """Place ``value`` in [``low``, ``high``] on a 0..``top`` scale (clamped to 0..100 %)."""

    def pct(v: float) -> float:
        if not math.isfinite(v) or top <= 0:
            return 0.0
        return round(min(max(v / top, 0.0), 1.0) * 100.0, 2)

    return IntervalMark(pct(value), pct(low), pct(high))
