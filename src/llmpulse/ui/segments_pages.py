"""The segments page: each value of a key against the rest, or the worst discovered slices.

``/ui/projects/{project}/segments?metric=&key=`` calls `SegmentService.compare_key`;
``&discover=1&key=a&key=b…`` calls `SegmentService.discover` (one- and two-key slices), the
same calls as ``GET /api/v1/projects/{project}/segments`` and ``…/segments/discover``. Rows
keep the analysis order (ranked worst slices first) and link to the traces of their slice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llmpulse.analysis.nothing_found import why_no_worse_slice
from llmpulse.analysis.segments import SliceResult
from llmpulse.domain.metrics import MetricSpec, parse_metric
from llmpulse.query.segments import SegmentReport, SegmentService
from llmpulse.query.service import ProjectSummary, QueryService
from llmpulse.store.api import SpanFilter
from llmpulse.store.metric_api import MetricQuery
from llmpulse.ui.analysis_forms import AnalysisForm, scope_of
from llmpulse.ui.charts import BarChart, BarItem, bar_chart
from llmpulse.ui.formats import (
    DASH,
    Formatter,
    compact_number,
    finite,
    format_diff,
    format_num,
    format_value,
    formatter_for,
    significance_badge,
    with_dash,
)  # fmt: skip
from llmpulse.ui.page_support import slice_label, traces_url
from llmpulse.ui.windows import Window

DEFAULT_METRIC = "error:rate"
DEFAULT_KEY = "metadata.tier"
MAX_BARS = 20
DISCOVER_K = 20


@dataclass(frozen=True, slots=True)
class SliceRow:
    """One row of the ranked table, formatted."""

    label: str
    keys: tuple[tuple[str, str], ...]
    n: int
    share: float
    value: str
    rest_value: str
    diff: str
    ci: str
    effect: str
    p_adjusted: float | None
    badge: str
    badge_class: str
    impact: str
    explained_share: float | None
    rank: int | None
    href: str


def segment_defaults(form: AnalysisForm) -> AnalysisForm:
    """The form with the default metric and key filled in when blank."""
    return AnalysisForm(
        metrics=form.metrics or (DEFAULT_METRIC,),
        keys=form.keys or (DEFAULT_KEY,),
        discover=form.discover, window=form.window, root_only=form.root_only,
        direction=form.direction, unit=form.unit, min_support=form.min_support,
        threshold=form.threshold,
    )  # fmt: skip


async def segments_context(
    query: QueryService, segments: SegmentService, summary: ProjectSummary,
    form: AnalysisForm, window: Window,
) -> dict[str, Any]:  # fmt: skip
    """Run the comparison (or discovery) and lay out the table and the bar chart.

    Raises:
        InvalidInput: a bad metric, key, direction or minimum support.
    """
    m = parse_metric(form.metric, "metric")
    direction, min_support = form.parsed_direction(), form.parsed_min_support()
    scope = scope_of(summary.name, window, form.root_only)
    if form.discover:
        report = await segments.discover(
            scope, m, form.keys, direction=direction, min_support=min_support, k=DISCOVER_K,
            unit=form.parsed_unit(),
        )  # fmt: skip
    else:
        report = await segments.compare_key(
            scope, m, form.keys[0], direction=direction, min_support=min_support,
            unit=form.parsed_unit(),
        )  # fmt: skip
    overall = await _overall(query, summary, m, window, form.root_only)
    rows = [_row(r, report, m.name, summary.name, window, not form.root_only) for r in report.rows]
    fmt = formatter_for(m.name)
    chart = _bars(report.rows, rows, overall, fmt)
    return {
        "report": report,
        "rows": rows,
        "chart": chart,
        "overall": overall,
        "overall_text": fmt(overall) if overall is not None else DASH,
        "metric_name": m.name,
        "nothing_found": why_no_worse_slice(report.rows, min_support, report.total_n)
        if form.discover
        else None,
    }


async def _overall(
    query: QueryService, summary: ProjectSummary, m: MetricSpec, window: Window, roots: bool
) -> float | None:
    q = MetricQuery(summary.name, (m,), window.time_range(bounded=False),
                    where=SpanFilter(root_only=roots))  # fmt: skip
    frame = await query.metric(q)
    if not frame.rows or frame.rows[0].values[0] is None:
        return None
    return float(frame.rows[0].values[0])


def _badge(r: SliceResult) -> tuple[str, str]:
    if not r.tested:
        return "too small to test", "sig-none"
    return significance_badge(r.significant, r.worse)


def _row(
    r: SliceResult, report: SegmentReport, metric: str, project: str, window: Window,
    all_spans: bool,
) -> SliceRow:  # fmt: skip
    fmt = formatter_for(metric)
    ci = DASH
    if finite(r.ci_low) is not None and finite(r.ci_high) is not None:
        ci = f"[{format_diff(metric, r.ci_low)}, {format_diff(metric, r.ci_high)}]"
    impact_fmt = compact_number if report.kind == "proportion" else fmt
    badge, badge_class = _badge(r)
    return SliceRow(
        label=slice_label(r.keys), keys=r.keys, n=r.n, share=r.share,
        value=format_value(metric, r.value), rest_value=format_value(metric, r.rest_value),
        diff=format_diff(metric, r.diff), ci=ci, effect=format_num(r.effect, 2),
        p_adjusted=finite(r.p_adjusted), badge=badge, badge_class=badge_class,
        impact=with_dash(impact_fmt, r.impact), explained_share=finite(r.explained_share),
        rank=r.rank,
        href=traces_url(project, r.keys, window, all_spans),
    )  # fmt: skip


def _bars(
    results: list[SliceResult], rows: list[SliceRow], overall: float | None, fmt: Formatter
) -> BarChart | None:
    items = []
    for r, row in list(zip(results, rows, strict=True))[:MAX_BARS]:
        tone = "worse" if r.significant and r.worse else "better" if r.significant else ""
        items.append(BarItem(row.label, finite(r.value), tone, row.href))
    if not any(i.value is not None for i in items):
        return None
    return bar_chart(items, overall, fmt, width=1100.0)
