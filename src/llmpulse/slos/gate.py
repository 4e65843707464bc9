"""The rollout gate: pass or fail a version from its guard-rail metrics and its SLOs.

Guard rails: the candidate against the baseline version over the time both were live
(`SegmentService.compare_versions`: percentiles judged as percentiles by a cluster bootstrap,
means and rates with their tests; METHODS.md §4.11), Bonferroni-corrected so the gate's
false-hold rate on an unchanged version stays at alpha overall. The gate fails when any guard
rail is worse, when a guard rail lacks data (a gate that promotes blind is worse than none),
or when the candidate's own traffic in the window misses an SLO's objective.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from llmpulse.analysis.comparison import ComparisonReport
from llmpulse.domain.errors import FieldError, InvalidInput
from llmpulse.domain.ids import ProjectName
from llmpulse.domain.metrics import MetricSpec, parse_metric
from llmpulse.query.segments import Scope, SegmentService
from llmpulse.query.service import QueryService
from llmpulse.slos.service import SloService, align_down, align_up
from llmpulse.slos.spec import SloSpec
from llmpulse.slos.windows import MINUTE
from llmpulse.store.api import SpanFilter, TimeRange
from llmpulse.store.metric_api import MetricQuery

GUARD_RAILS = ("latency_ms:mean", "latency_ms:p95", "error:rate")
ALPHA = 0.05
MIN_SLO_EVENTS = 30


@dataclass(frozen=True)
class SloCheck:
    """The candidate's own SLI over the window against one SLO's objective."""

    name: str
    objective: float
    good: float
    valid: float
    passed: bool | None  # None: too few events to judge

    @property
    def sli(self) -> float:
        """Good / valid over the window (NaN without events)."""
        return self.good / self.valid if self.valid else math.nan


@dataclass(frozen=True)
class GateResult:
    """Pass or fail, and why."""

    passed: bool
    version: str
    baseline: str
    start: datetime
    end: datetime
    comparison: ComparisonReport
    slos: list[SloCheck] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def for_version(spec: SloSpec, version: str) -> SloSpec:
    """The SLO restricted to one version's spans."""
    scope = f"version = {_quote(version)}"
    new = scope if spec.filter is None else f"{spec.filter} and {scope}"
    return spec.model_copy(update={"filter": new})


async def pick_baseline(query: QueryService, project: str, version: str, time: TimeRange) -> str:
    """The busiest other version in the window.

    Raises:
        InvalidInput: no other version has spans there (name ``baseline``).
    """
    count = parse_metric("count")
    q = MetricQuery(ProjectName(project), (count,), time, None, ("version",), max_groups=50)
    frame = await query.metric(q)
    others = [(r.n, r.group[0]) for r in frame.rows if r.group[0] not in (None, version)]
    if not others:
        msg = "no other version has spans in the window; name one"
        raise InvalidInput(msg, [FieldError("baseline", msg)])
    return str(max(others)[1])


async def slo_checks(
    slos: SloService, project: str, version: str, start: datetime, end: datetime,
    names: tuple[str, ...] | None,
) -> list[SloCheck]:  # fmt: skip
    """Each SLO (or those named) judged on the candidate's traffic in the window."""
    specs = [s for s in await slos.specs(project) if names is None or s.name in names]
    if names is not None:
        missing = sorted(set(names) - {s.name for s in specs})
        if missing:
            msg = f"no SLO named {missing[0]!r}"
            raise InvalidInput(msg, [FieldError("slo", msg)])
    ratio = [for_version(s, version) for s in specs if s.sli.type != "latency_quantile"]
    if not ratio:
        return []
    lo, hi = align_down(start, MINUTE), align_up(end, MINUTE)
    counts = await slos.counts(project, ratio, lo, hi, MINUTE)
    out = []
    for spec, c in zip(ratio, counts, strict=True):
        good, valid = float(c.good.sum()), float(c.valid.sum())
        judged = valid >= MIN_SLO_EVENTS
        passed = (good / valid >= float(spec.objective)) if judged else None
        out.append(SloCheck(spec.name, float(spec.objective), good, valid, passed))
    return out


async def run_gate(
    segments: SegmentService, query: QueryService, slos: SloService, project: str,
    version: str, start: datetime, end: datetime, *, baseline: str | None = None,
    guard_rails: tuple[str, ...] = GUARD_RAILS, slo_names: tuple[str, ...] | None = None,
    key: str = "version",
) -> GateResult:  # fmt: skip
    """Judge ``version`` over ``[start, end)`` (see the module docstring)."""
    if end <= start:
        raise InvalidInput("end must be after start", [FieldError("end", "before start")])
    time = TimeRange(start, end)
    base = baseline or await pick_baseline(query, project, version, time)
    metrics: tuple[MetricSpec, ...] = tuple(
        parse_metric(m, f"guard_rail[{i}]") for i, m in enumerate(guard_rails)
    )
    scope = Scope(ProjectName(project), time, SpanFilter(root_only=True))
    report = await segments.compare_versions(
        scope, key, base, version, metrics, alpha=ALPHA / max(1, len(metrics))
    )
    reasons = []
    for v in report.metrics:
        if v.verdict == "worse":
            reasons.append(f"{v.name} is worse: {v.baseline_value:.4g} → {v.candidate_value:.4g}")
        elif v.verdict == "insufficient_data":
            reasons.append(f"{v.name}: too little data to judge (need 30 per version)")
    checks = await slo_checks(slos, project, version, start, end, slo_names)
    reasons += [
        f"SLO {c.name}: {c.sli:.4%} under its objective {c.objective:.4%}"
        for c in checks
        if c.passed is False
    ]
    return GateResult(not reasons, version, base, start, end, report, checks, reasons)
