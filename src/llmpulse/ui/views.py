"""View models: what the templates draw, computed from domain objects (no I/O).

The waterfall places each span of a trace on one row, indented by depth, with a bar whose
offset and width are the span's start and duration as percentages of the whole trace.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from llmpulse.domain.spans import Annotation, Span
from llmpulse.query.service import Trace
from llmpulse.query.traces import SpanNode
from llmpulse.ui.formats import short_ms

MIN_BAR_PCT = 0.4  # so that a zero-length span still shows as a sliver
MIN_CHART_SLOTS = 30  # a short page gets slim bars on the left, not a few fat blocks


@dataclass(frozen=True, slots=True)
class WaterfallRow:
    """One span of the trace tree, placed on the trace's time axis."""

    span: Span
    depth: int
    offset_pct: float
    width_pct: float
    num_children: int
    num_annotations: int


@dataclass(frozen=True, slots=True)
class TraceView:
    """A trace laid out for the detail page."""

    trace: Trace
    start: datetime
    end: datetime
    latency_ms: float
    rows: list[WaterfallRow]

    @property
    def project(self) -> str:
        """The project of the trace's first span."""
        return self.trace.spans[0].project

    @property
    def num_errors(self) -> int:
        """Spans whose status is ERROR."""
        return sum(1 for s in self.trace.spans if s.status_code == "ERROR")

    def find(self, span_id: str | None) -> Span:
        """The span with this id, else the first root."""
        for row in self.rows:
            if row.span.span_id == span_id:
                return row.span
        return self.rows[0].span


def trace_view(trace: Trace, annotations: Iterable[Annotation] = ()) -> TraceView:
    """Lay out ``trace`` as waterfall rows, depth-first, children oldest first."""
    start = min(s.start_time for s in trace.spans)
    end = max(s.end_time for s in trace.spans)
    total_ms = max((end - start).total_seconds() * 1000.0, 1e-6)
    counts = annotation_counts(trace.spans, annotations)
    rows: list[WaterfallRow] = []

    def visit(node: SpanNode, depth: int) -> None:
        span = node.span
        offset = (span.start_time - start).total_seconds() * 1000.0 / total_ms * 100.0
        width = max(span.latency_ms / total_ms * 100.0, MIN_BAR_PCT)
        offset = min(max(offset, 0.0), 100.0 - MIN_BAR_PCT)
        rows.append(
            WaterfallRow(
                span=span,
                depth=depth,
                offset_pct=round(offset, 3),
                width_pct=round(min(width, 100.0 - offset), 3),
                num_children=len(node.children),
                num_annotations=counts.get(span.span_id, 0),
            )
        )
        for child in node.children:
            visit(child, depth + 1)

    for root in trace.roots:
        visit(root, 0)
    return TraceView(trace, start, end, (end - start).total_seconds() * 1000.0, rows)


def annotation_counts(spans: Iterable[Span], annotations: Iterable[Annotation]) -> dict[str, int]:
    """How many annotations each span has (by span id or by its prediction id)."""
    by_prediction = {s.prediction_id: s.span_id for s in spans if s.prediction_id}
    counts: dict[str, int] = {}
    for a in annotations:
        target = a.span_id or (by_prediction.get(a.prediction_id) if a.prediction_id else None)
        if target:
            counts[target] = counts.get(target, 0) + 1
    return counts


def annotations_of(span: Span, annotations: Iterable[Annotation]) -> list[Annotation]:
    """The annotations that belong to ``span``, oldest first."""
    return [
        a
        for a in annotations
        if a.span_id == span.span_id
        or (span.prediction_id and a.prediction_id == span.prediction_id)
    ]


@dataclass(frozen=True, slots=True)
class ChartBar:
    """One bar of the latency chart on the traces page (SVG user units)."""

    x: float
    y: float
    width: float
    height: float
    error: bool
    label: str
    href_id: str


def latency_bars(
    spans: Sequence[Span], width: float = 600.0, height: float = 60.0
) -> list[ChartBar]:
    """Bars for the listed spans' latencies, oldest on the left, scaled to the slowest."""
    if not spans:
        return []
    ordered = list(reversed(spans))
    top = max(max(s.latency_ms for s in ordered), 1e-6)
    step = width / max(len(ordered), MIN_CHART_SLOTS)
    bar_w = max(step * 0.8, 1.0)
    bars = []
    for i, s in enumerate(ordered):
        h = max(s.latency_ms / top * (height - 2), 1.0)
        bars.append(
            ChartBar(
                x=round(i * step, 2),
                y=round(height - h, 2),
                width=round(bar_w, 2),
                height=round(h, 2),
                error=s.status_code == "ERROR",
                label=f"{s.name}: {format_ms(s.latency_ms)}",
                href_id=s.trace_id,
            )
        )
    return bars


def attribute_rows(attributes: dict[str, Any]) -> list[tuple[str, str]]:
    """Sorted ``(key, value)`` rows; non-string values as compact JSON."""
    return [(k, value_text(v)) for k, v in sorted(attributes.items())]


def value_text(value: Any) -> str:
    """A value as text: strings as they are, everything else as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def pretty_json(value: Any) -> str:
    """Indented JSON for metadata blocks."""
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str)


def format_ms(ms: float | None) -> str:
    """Milliseconds in a short human unit (`formats.short_ms`); empty when missing."""
    return "" if ms is None else short_ms(ms)


def format_time(t: datetime | None) -> str:
    """An instant as ``2024-05-01 12:00:03.123 UTC``."""
    if t is None:
        return ""
    return t.strftime("%Y-%m-%d %H:%M:%S.") + f"{t.microsecond // 1000:03d} UTC"


def format_cost(usd: float | None) -> str:
    """A cost in dollars with enough digits for fractions of a cent."""
    if usd is None:
        return ""
    if usd < 0.01:
        return f"${usd:.6f}"
    return f"${usd:.4f}" if usd < 1 else f"${usd:,.2f}"


def preview(text: str | None, limit: int = 120) -> str:
    """The first ``limit`` characters of ``text`` on one line."""
    if not text:
        return ""
    flat = " ".join(text[: limit * 8].split())  # never split a huge value whole
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
