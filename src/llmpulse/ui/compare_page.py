"""The version comparison page: candidate against baseline, a verdict per metric, promote/hold.

``/ui/projects/{project}/compare?key=version&baseline=&candidate=[&metric=…]`` calls
`SegmentService.compare_versions`, like ``GET /api/v1/projects/{project}/compare``. The values
offered for the key come from a count grouped by the key; with none chosen, the two largest
values in sorted order stand as baseline and candidate (``v1`` → ``v2``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llmpulse.analysis.comparison import MetricVerdict
from llmpulse.domain.errors import FieldError, InvalidInput
from llmpulse.domain.metrics import parse_metric
from llmpulse.query.segments import SegmentService
from llmpulse.query.service import ProjectSummary, QueryService
from llmpulse.store.api import SpanFilter
from llmpulse.store.metric_api import MetricQuery
from llmpulse.ui.analysis_forms import AnalysisForm, scope_of
from llmpulse.ui.formats import DASH, finite, format_diff, format_num, format_p, format_value
from llmpulse.ui.page_support import EVAL_METRIC, FEEDBACK_METRIC
from llmpulse.ui.windows import Window

DEFAULT_KEY = "version"
DEFAULT_METRICS = ("latency_ms:p95", "error:rate", "cost_usd:mean")
METRIC_CHOICES = (
    "latency_ms:p50", "latency_ms:p95", "latency_ms:p99", "error:rate", "cost_usd:mean",
    "total_tokens:mean", FEEDBACK_METRIC, EVAL_METRIC,
)  # fmt: skip
VERDICT_TEXT = {
    "better": "better",
    "worse": "worse",
    "no_detectable_difference": "no detectable difference",
    "insufficient_data": "insufficient data",
}
SIGNAL_TEXT = {"promote": "promote", "hold": "hold", "insufficient_data": "insufficient data"}
MAX_VALUES = 50


@dataclass(frozen=True, slots=True)
class VerdictRow:
    """One metric's verdict, formatted."""

    metric: str
    verdict: str
    verdict_class: str
    test: str
    baseline: str
    candidate: str
    diff: str
    ci: str
    p_value: str
    effect: str
    required_n: str
    baseline_n: int
    candidate_n: int
    guard_rail: bool


async def key_values(
    query: QueryService, summary: ProjectSummary, key: str, window: Window, roots: bool
) -> list[tuple[str, int]]:
    """The values of ``key`` in the window with their span counts, sorted by value."""
    q = MetricQuery(summary.name, (parse_metric("count"),), window.time_range(bounded=False),
                    group_by=(key,), where=SpanFilter(root_only=roots),
                    max_groups=MAX_VALUES)  # fmt: skip
    frame = await query.metric(q)
    return sorted((str(r.group[0]), r.n) for r in frame.rows if r.group and r.group[0] is not None)


def compare_defaults(form: AnalysisForm, values: list[tuple[str, int]]) -> AnalysisForm:
    """Fill in baseline and candidate from the two largest values when not chosen."""
    biggest = sorted(v for v, _ in sorted(values, key=lambda x: -x[1])[:2])
    baseline = form.baseline or (biggest[0] if len(biggest) == 2 else "")
    candidate = form.candidate or (biggest[-1] if len(biggest) == 2 else "")
    return AnalysisForm(
        metrics=form.metrics or DEFAULT_METRICS, keys=form.keys[:1] or (DEFAULT_KEY,),
        window=form.window, root_only=form.root_only, min_support=form.min_support,
        baseline=baseline, candidate=candidate, unit=form.unit,
    )  # fmt: skip


def _row(v: MetricVerdict) -> VerdictRow:
    ci = DASH
    if finite(v.ci_low) is not None and finite(v.ci_high) is not None:
        ci = f"[{format_diff(v.name, v.ci_low)}, {format_diff(v.name, v.ci_high)}]"
    return VerdictRow(
        metric=v.name, verdict=VERDICT_TEXT[v.verdict], verdict_class=v.verdict,
        test=v.test.replace("_", "-"), baseline=format_value(v.name, v.baseline_value),
        candidate=format_value(v.name, v.candidate_value),
        diff=format_diff(v.name, v.diff), ci=ci, p_value=format_p(v.p_value),
        effect=format_num(v.effect, 2),
        required_n=DASH if v.required_n_per_group is None else f"{v.required_n_per_group:,}",
        baseline_n=v.baseline_n, candidate_n=v.candidate_n, guard_rail=v.guard_rail,
    )  # fmt: skip


async def compare_context(
    segments: SegmentService, summary: ProjectSummary, form: AnalysisForm, window: Window
) -> dict[str, Any]:
    """Compare candidate with baseline on the chosen metrics (nothing runs until both are set).

    Raises:
        InvalidInput: a bad metric or support, or the same value on both sides.
    """
    if not (form.baseline and form.candidate):
        return {"report": None, "rows": [], "signal_text": ""}
    if form.baseline == form.candidate:
        msg = "choose two different values"
        raise InvalidInput(msg, [FieldError("candidate", msg)])
    specs = tuple(parse_metric(m, f"metric[{i}]") for i, m in enumerate(form.metrics))
    scope = scope_of(summary.name, window, form.root_only)
    report = await segments.compare_versions(
        scope, form.keys[0], form.baseline, form.candidate, specs,
        min_support=form.parsed_min_support(), unit=form.parsed_unit(),
    )  # fmt: skip
    return {
        "report": report,
        "rows": [_row(v) for v in report.metrics],
        "signal_text": SIGNAL_TEXT[report.signal],
    }
