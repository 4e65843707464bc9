"""The what-changed page: slices whose metric got worse in the recent window.

``/ui/projects/{project}/changes?metric=&key=…&baseline=7d&current=1d`` compares the last
``current`` of the project's data (ending at its last span, like the dashboard's windows) with
the ``baseline`` before it, through `SegmentService.changes`, the call behind
``GET /api/v1/projects/{project}/segments/changes``. Keys may name saved cohorts
(``cohort:<name>``). Rows keep the analysis order: ranked slices first, then the parents that a
sharper two-key child explains ("explained by"). Durations are a whole number and a unit:
``m``, ``h``, ``d`` or ``w``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from llmpulse.analysis.changes import SliceChange
from llmpulse.analysis.nothing_found import why_no_change
from llmpulse.domain.durations import parse_duration
from llmpulse.domain.metrics import parse_metric
from llmpulse.query.segments import ChangeReport, Scope, SegmentService
from llmpulse.query.service import ProjectSummary
from llmpulse.store.api import SpanFilter, TimeRange
from llmpulse.ui.analysis_forms import AnalysisForm
from llmpulse.ui.formats import (
    DASH,
    compact_number,
    finite,
    format_diff,
    format_value,
    formatter_for,
    significance_badge,
    with_dash,
)  # fmt: skip
from llmpulse.ui.page_support import slice_label, traces_url
from llmpulse.ui.windows import BUCKETS, END_SLACK, Window

DEFAULT_METRIC = "error:rate"
DEFAULT_KEYS = ("metadata.tier", "metadata.region", "model", "version")
DEFAULT_BASELINE = "7d"
DEFAULT_CURRENT = "1d"
CHANGES_K = 20
TIME_FORMAT = "%Y-%m-%d %H:%M UTC"


@dataclass(frozen=True, slots=True)
class ChangeWindows:
    """The two windows compared: baseline [start, cut), current [cut, end)."""

    baseline: TimeRange
    current: TimeRange

    def text(self, r: TimeRange) -> str:
        """``2025-11-20 06:00 UTC → 2025-11-20 08:00 UTC``."""
        s, e = r.start, r.end
        return f"{_when(s)} → {_when(e)}"


@dataclass(frozen=True, slots=True)
class ChangeRow:
    """One slice's change, formatted."""

    label: str
    keys: tuple[tuple[str, str], ...]
    rank: int | None
    n_baseline: int
    n_current: int
    baseline_value: str
    current_value: str
    diff: str
    ci: str
    p_adjusted: float | None
    badge: str
    badge_class: str
    impact: str
    explained_by: str
    href: str | None


def changes_defaults(form: AnalysisForm, current: str) -> tuple[AnalysisForm, str]:
    """The form (and current duration) with the defaults filled in when blank."""
    return AnalysisForm(
        metrics=form.metrics or (DEFAULT_METRIC,), keys=form.keys or DEFAULT_KEYS,
        root_only=form.root_only, direction=form.direction, min_support=form.min_support,
        baseline=form.baseline or DEFAULT_BASELINE, unit=form.unit,
    ), current or DEFAULT_CURRENT  # fmt: skip


def change_windows(last_seen: datetime, baseline: timedelta, current: timedelta) -> ChangeWindows:
    """The current window ends at the last span; the baseline ends where it starts."""
    end = last_seen + END_SLACK
    cut = end - current
    return ChangeWindows(TimeRange(cut - baseline, cut), TimeRange(cut, end))


async def changes_context(
    segments: SegmentService, summary: ProjectSummary,
    form: AnalysisForm, current: str, chosen: Window | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Run the comparison and lay out the ranked table.

    With a ``chosen`` time range (the picker's; ``all`` does not count) the recent window is
    that range and the baseline the ``baseline`` duration before it.

    Raises:
        InvalidInput: a bad metric, key, duration, direction or minimum support.
    """
    m = parse_metric(form.metric, "metric")
    base_len, cur_len = (
        parse_duration(form.baseline, "baseline"),
        parse_duration(current, "current"),
    )
    direction, min_support = form.parsed_direction(), form.parsed_min_support()
    if not isinstance(summary.last_seen, datetime):
        return {"report": None, "rows": [], "windows": None}
    windows = change_windows(summary.last_seen, base_len, cur_len)
    if chosen is not None and chosen.key != "all" and chosen.start and chosen.end:
        cut = chosen.start
        windows = ChangeWindows(TimeRange(cut - base_len, cut), TimeRange(cut, chosen.end))
    scope = Scope(summary.name, windows.current, SpanFilter(root_only=form.root_only))
    report = await segments.changes(
        scope, windows.baseline, m, form.keys, direction=direction, min_support=min_support,
        k=CHANGES_K, unit=form.parsed_unit(),
    )  # fmt: skip
    trace_window = Window(
        "current", windows.current.start, windows.current.end, "1h", BUCKETS["1h"]
    )
    rows = [_row(r, report, summary.name, trace_window, not form.root_only) for r in report.rows]
    why = why_no_change(report.rows, min_support)
    return {
        "report": report, "rows": rows, "windows": windows, "metric_name": m.name,
        "nothing_found": why,
    }  # fmt: skip


def _when(t: datetime | None) -> str:
    return t.strftime(TIME_FORMAT) if t is not None else DASH


def _badge(r: SliceChange) -> tuple[str, str]:
    if r.status == "global":
        return "affects all segments", "sig-worse"
    if r.explained_by is not None:
        return "explained", "sig-none"
    if r.status == "too_small":
        return "too small to test", "sig-none"
    return significance_badge(r.significant, r.worse)


def _under(key: tuple[tuple[str, str], ...] | None) -> str:
    if key is None:
        return ""
    return slice_label(key) if key else "all segments"


def _row(
    r: SliceChange, report: ChangeReport, project: str, window: Window, all_spans: bool
) -> ChangeRow:
    metric = report.metric
    ci = DASH
    if finite(r.ci_low) is not None and finite(r.ci_high) is not None:
        ci = f"[{format_diff(metric, r.ci_low)}, {format_diff(metric, r.ci_high)}]"
    impact_fmt = compact_number if report.kind == "proportion" else formatter_for(metric)
    badge, badge_class = _badge(r)
    cohort = any(k.startswith("cohort:") for k, _ in r.keys)
    return ChangeRow(
        label=slice_label(r.keys) if r.keys else "all segments", keys=r.keys, rank=r.rank,
        n_baseline=r.n_baseline, n_current=r.n_current,
        baseline_value=format_value(metric, r.baseline_value),
        current_value=format_value(metric, r.current_value), diff=format_diff(metric, r.diff),
        ci=ci, p_adjusted=finite(r.p_adjusted), badge=badge, badge_class=badge_class,
        impact=with_dash(impact_fmt, r.impact),
        explained_by=_under(r.explained_by),
        href=None if cohort or not r.keys else traces_url(project, r.keys, window, all_spans),
    )  # fmt: skip
