"""Triggering policy: planted low-confidence and workflow spans are picked, nothing else."""

from __future__ import annotations

import random

import pytest
from pydantic import ValidationError

from llmpulse.domain.spans import SpanKind
from llmpulse.domain.triggering import (
    TriggeringPolicy,
    TriggerTarget,
    decide,
    sample_point,
)


def _targets(n: int, seed: int = 7) -> list[TriggerTarget]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        attrs: dict[str, object] = {"prediction.score": rng.random()}
        if i % 10 == 0:
            attrs["metadata.workflow"] = "refunds"
        out.append(TriggerTarget(f"span-{i}", SpanKind.LLM, "generate", attrs))
    return out


def test_all_picks_everything() -> None:
    ts = _targets(50)
    assert all(decide(TriggeringPolicy(), t).selected for t in ts)


def test_low_confidence_picks_exactly_the_spans_below_the_threshold() -> None:
    ts = _targets(500)
    policy = TriggeringPolicy(confidence_below=0.2)
    picked = {t.span_id for t in ts if decide(policy, t).selected}
    planted = {t.span_id for t in ts if float(t.attributes["prediction.score"]) < 0.2}
    assert picked == planted
    assert 60 < len(planted) < 140


def test_a_span_without_confidence_is_not_picked_by_a_confidence_rule() -> None:
    d = decide(TriggeringPolicy(confidence_below=0.5), TriggerTarget("s"))
    assert (d.selected, d.reason) == (False, "no confidence (prediction.score)")


def test_workflow_picks_exactly_the_tagged_spans_by_attribute_or_tag() -> None:
    ts = _targets(100)
    policy = TriggeringPolicy(workflows=("refunds",))
    picked = [t.span_id for t in ts if decide(policy, t).selected]
    assert picked == [f"span-{i}" for i in range(0, 100, 10)]
    assert decide(policy, TriggerTarget("x", tags=("refunds",))).selected


def test_sample_rate_is_deterministic_and_near_its_rate() -> None:
    ts = _targets(4000)
    policy = TriggeringPolicy(sample_rate=0.25, seed="r1")
    first = [decide(policy, t).selected for t in ts]
    second = [decide(policy, t).selected for t in ts]
    assert first == second
    share = sum(first) / len(first)
    # binomial sd at n=4000, p=0.25 is 0.0068; 4 sd
    assert abs(share - 0.25) < 0.028
    other = [decide(TriggeringPolicy(sample_rate=0.25, seed="r2"), t).selected for t in ts]
    assert other != first


def test_sample_point_is_uniform_enough() -> None:
    points = [sample_point("s", f"id{i}") for i in range(2000)]
    assert all(0.0 <= p < 1.0 for p in points)
    assert abs(sum(points) / len(points) - 0.5) < 0.03


def test_conditions_are_anded_and_the_reason_names_the_failing_one() -> None:
    policy = TriggeringPolicy(
        span_kinds=(SpanKind.LLM,), confidence_below=0.5, attributes={"metadata.tier": "pro"}
    )
    hit = TriggerTarget("a", SpanKind.LLM, "g", {"prediction.score": 0.1, "metadata.tier": "pro"})
    assert decide(policy, hit).selected
    wrong_kind = TriggerTarget("a", SpanKind.CHAIN, "g", hit.attributes)
    assert decide(policy, wrong_kind).reason.startswith("kind CHAIN")
    wrong_tier = TriggerTarget("a", SpanKind.LLM, "g", {"prediction.score": 0.1})
    assert decide(policy, wrong_tier).reason == "metadata.tier is not 'pro'"
    confident = TriggerTarget(
        "a", SpanKind.LLM, "g", {"prediction.score": 0.9, "metadata.tier": "pro"}
    )
    assert decide(policy, confident).reason == "confidence 0.9 >= 0.5"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"sample_rate": 1.5}, "sample_rate"),
        ({"span_kinds": ["NOPE"]}, "span_kinds"),
        ({"x": 1}, "x"),
    ],
)
def test_bad_policies_name_the_field(body: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        TriggeringPolicy.model_validate(body)
    assert err.value.errors()[0]["loc"][0] == field
