"""The fairness page: a rate per group with Wilson intervals, parity and the four-fifths rule.

``/ui/projects/{project}/fairness?metric=&key=[&min_support=&threshold=]`` calls
`SegmentService.fairness`, like ``GET /api/v1/projects/{project}/fairness``, whose JSON and CSV
exports the page links to. The metric's rate is read as the favourable outcome (selection
rate): a group fails the rule when its rate is below ``threshold`` times the best group's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from llmpulse.analysis.fairness import GroupRate
from llmpulse.domain.metrics import parse_metric
from llmpulse.query.segments import SegmentService
from llmpulse.query.service import ProjectSummary
from llmpulse.ui.analysis_forms import AnalysisForm, api_query, scope_of
from llmpulse.ui.charts import IntervalMark, interval_mark, nice_ticks
from llmpulse.ui.formats import DASH
from llmpulse.ui.page_support import traces_url
from llmpulse.ui.templating import path_quote
from llmpulse.ui.windows import Window

DEFAULT_METRIC = "annotation.feedback.label=thumbs_up:rate"
DEFAULT_KEY = "metadata.tier"


@dataclass(frozen=True, slots=True)
class GroupRow:
    """One group as the table shows it."""

    group: GroupRate
    mark: IntervalMark
    verdict: str
    verdict_class: str
    flagged: bool
    most_favoured: bool
    href: str


def fairness_defaults(form: AnalysisForm) -> AnalysisForm:
    """The form with the default metric and key filled in when blank."""
    return AnalysisForm(
        metrics=form.metrics or (DEFAULT_METRIC,), keys=form.keys[:1] or (DEFAULT_KEY,),
        window=form.window, root_only=form.root_only, min_support=form.min_support,
        threshold=form.threshold, unit=form.unit, direction=form.direction,
    )  # fmt: skip


def _verdict(g: GroupRate) -> tuple[str, str]:
    if g.suppressed:
        return "suppressed (low n)", "suppressed"
    if g.four_fifths == "inconclusive":
        return "inconclusive (CI spans the threshold)", "suppressed"
    if g.passes_four_fifths is None:
        return DASH, "suppressed"
    return ("passes", "pass") if g.passes_four_fifths else ("fails 4/5", "fail")


async def fairness_context(
    segments: SegmentService, summary: ProjectSummary, form: AnalysisForm, window: Window
) -> dict[str, Any]:
    """Run the parity report and lay out rows, interval marks and export links.

    Raises:
        InvalidInput: a bad metric (it must be a rate), key, support or threshold.
    """
    m = parse_metric(form.metric, "metric")
    key = form.keys[0]
    min_support, threshold = form.parsed_min_support(), form.parsed_threshold()
    scope = scope_of(summary.name, window, form.root_only)
    unit = form.parsed_unit()
    report = await segments.fairness(
        scope, m, key, min_support=min_support, threshold=threshold, unit=unit,
        direction=form.parsed_direction(),
    )  # fmt: skip
    highs = [g.ci_high for g in report.groups if math.isfinite(g.ci_high)]
    top = nice_ticks(0.0, max([*highs, 0.0]) or 1.0)[-1]
    rows = []
    for g in report.groups:
        verdict, css = _verdict(g)
        rows.append(
            GroupRow(
                g, interval_mark(g.rate, g.ci_low, g.ci_high, top), verdict, css,
                flagged=g.passes_four_fifths is False,
                most_favoured=g.group == report.most_favoured,
                href=traces_url(summary.name, ((key, g.group),), window, not form.root_only),
            )
        )  # fmt: skip
    params = [("metric", m.name), ("key", key), ("min_support", str(min_support)),
              ("threshold", str(threshold)), ("unit", unit)]  # fmt: skip
    query = api_query(form, window, params)
    api = f"/api/v1/projects/{path_quote(summary.name)}/fairness?{query}"
    return {
        "report": report,
        "rows": rows,
        "scale_top": top,
        "metric_name": m.name,
        "json_url": api,
        "csv_url": f"{api}&format=csv",
    }
