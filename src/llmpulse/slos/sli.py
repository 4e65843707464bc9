"""An SLO's SLI as the store's logical count query (`CountSpec`), per METHODS.md §2.1.

Availability: valid = events, good = status not ERROR. Latency: valid = events with a
latency, good = latency ≤ T. Latency quantile: time slices whose quantile is ≤ T. Cost: one
event per priced trace (its root span), good = the trace's total ≤ T. Quality: valid =
events with the annotation, good = latest score ≥ bar or label match. Ratio: the two cohort
expressions. Events are root spans unless the SLO says ``spans: all``; the SLO's ``filter``
scopes every event.
"""

from __future__ import annotations

from llmpulse.domain.cohorts import parse_cohort
from llmpulse.domain.metrics import parse_field
from llmpulse.slos.spec import (
    AvailabilitySli,
    CostSli,
    LatencyQuantileSli,
    LatencySli,
    QualitySli,
    RatioSli,
    SloSpec,
)
from llmpulse.store.slo_api import CountSpec, SpanTest, TimeSlice

LATENCY = parse_field("latency_ms")


def _matches(expression: str) -> SpanTest:
    return SpanTest("matches", conditions=parse_cohort("sli", expression).conditions)


def count_spec(spec: SloSpec) -> CountSpec:
    """The good/valid tests of one SLO."""
    scope: list[SpanTest] = []
    if spec.event_spans == "root" or spec.sli.type == "cost":
        scope.append(SpanTest("root"))
    if spec.filter is not None:
        scope.append(_matches(spec.filter))
    sli = spec.sli
    if isinstance(sli, AvailabilitySli):
        return CountSpec(valid=tuple(scope), good=(SpanTest("ok"),))
    if isinstance(sli, LatencySli):
        valid = (*scope, SpanTest("present", LATENCY))
        return CountSpec(valid=valid, good=(SpanTest("le", LATENCY, sli.threshold_ms),))
    if isinstance(sli, LatencyQuantileSli):
        cut = TimeSlice(LATENCY, sli.quantile, sli.threshold_ms, sli.slice)
        return CountSpec(valid=tuple(scope), slice=cut)
    if isinstance(sli, CostSli):
        valid = (*scope, SpanTest("priced"))
        return CountSpec(valid=valid, good=(SpanTest("trace_cost_le", value=sli.threshold_usd),))
    if isinstance(sli, QualitySli):
        if sli.label is not None:
            field = parse_field(f"annotation.{sli.annotation}.label={sli.label}")
            good = SpanTest("ge", field, 1.0)
        else:
            field = parse_field(f"annotation.{sli.annotation}.score")
            good = SpanTest("ge", field, float(sli.min_score or 0.0))
        return CountSpec(valid=(*scope, SpanTest("present", field)), good=(good,))
    assert isinstance(sli, RatioSli)  # noqa: S101  (the union is closed)
    valid = (*scope, _matches(sli.valid)) if sli.valid else tuple(scope)
    return CountSpec(valid=valid, good=(_matches(sli.good),))
