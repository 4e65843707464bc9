"""Version comparison (canary): verdicts, sample sizes and the promote/hold signal."""

from __future__ import annotations

import numpy as np
import pytest

from llmpulse.analysis.comparison import (
    LatencyMetric,
    MeanMetric,
    ProportionMetric,
    compare_versions,
)
from llmpulse.analysis.power import sample_size_two_means, sample_size_two_proportions
from llmpulse.domain.errors import InvalidInput


def _mean(name: str, base: np.ndarray, cand: np.ndarray, **kw: object) -> MeanMetric:
    return MeanMetric(
        name, base.size, float(base.sum()), float((base**2).sum()),
        cand.size, float(cand.sum()), float((cand**2).sum()), **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def test_compare_versions_holds_when_candidate_error_rate_is_worse() -> None:
    # METHODS.md §4.2: 1 % vs 3 % over 5 000 requests each is clearly worse
    report = compare_versions([ProportionMetric("error_rate", 50, 5000, 150, 5000)])
    (m,) = report.metrics
    assert m.verdict == "worse"
    assert m.test == "z"
    assert m.p_value < 1e-6
    assert m.diff == pytest.approx(0.02)
    assert m.ci_low > 0
    assert report.signal == "hold"
    assert m.required_n_per_group == sample_size_two_proportions(0.01, 0.03)


def test_compare_versions_promotes_when_candidate_matches_baseline() -> None:
    # identical distributions (seeded): no guard-rail metric is worse
    rng = np.random.default_rng(0)
    lat_a, lat_b = rng.lognormal(6, 0.4, 800), rng.lognormal(6, 0.4, 800)
    cost_a, cost_b = rng.gamma(2, 0.01, 800), rng.gamma(2, 0.01, 800)
    report = compare_versions(
        [
            ProportionMetric("error_rate", 20, 1000, 22, 1000),
            _mean("cost_usd", cost_a, cost_b),
            LatencyMetric("latency_ms", lat_a, lat_b),
        ],
        n_resamples=300,
    )
    assert [m.verdict for m in report.metrics] == ["no_detectable_difference"] * 3
    assert report.signal == "promote"


def test_compare_versions_says_better_when_candidate_is_cheaper() -> None:
    # METHODS.md §4.3 Welch; higher cost is worse, so a lower mean is better
    rng = np.random.default_rng(1)
    base, cand = rng.normal(0.020, 0.004, 500), rng.normal(0.015, 0.004, 500)
    report = compare_versions([_mean("cost_usd", base, cand)])
    (m,) = report.metrics
    assert m.verdict == "better"
    assert m.test == "welch"
    assert m.effect < 0
    assert m.candidate_value == pytest.approx(cand.mean())
    var = (base.var(ddof=1) + cand.var(ddof=1)) / 2
    assert m.required_n_per_group == sample_size_two_means(var, cand.mean() - base.mean())
    assert report.signal == "promote"


def test_compare_versions_flags_latency_when_candidate_is_slower() -> None:
    # METHODS.md §4.4 Mann-Whitney verdict + §4.5 bootstrap CI of the p95 difference
    rng = np.random.default_rng(2)
    base, cand = rng.lognormal(6.0, 0.3, 600), rng.lognormal(6.2, 0.3, 600)
    report = compare_versions([LatencyMetric("latency_ms", base, cand)], n_resamples=400, seed=3)
    (m,) = report.metrics
    assert m.verdict == "worse"
    assert m.test == "cluster_bootstrap"
    assert m.effect > 0
    assert m.diff > 0
    assert m.ci_low > 0
    assert m.ci_low < m.diff < m.ci_high
    assert report.signal == "hold"


def test_compare_versions_needs_data_when_guard_rail_has_few_requests() -> None:
    # METHODS.md §4.1 support + R3: too little data is its own state
    report = compare_versions([ProportionMetric("error_rate", 0, 12, 1, 10)])
    assert report.metrics[0].verdict == "insufficient_data"
    assert report.signal == "insufficient_data"


def test_compare_versions_ignores_non_guard_rail_when_it_is_worse() -> None:
    # only guard-rail metrics decide the signal
    report = compare_versions(
        [
            ProportionMetric("error_rate", 50, 5000, 52, 5000),
            ProportionMetric("thumbs_down", 100, 5000, 300, 5000, guard_rail=False),
        ]
    )
    assert report.metrics[1].verdict == "worse"
    assert report.signal == "promote"


def test_compare_versions_holds_even_when_another_guard_rail_lacks_data() -> None:
    report = compare_versions(
        [
            ProportionMetric("error_rate", 50, 5000, 150, 5000),
            ProportionMetric("refusals", 0, 5, 0, 5),
        ]
    )
    assert report.signal == "hold"


def test_compare_versions_sizes_for_minimum_effect_when_given_one() -> None:
    # two-proportion sample size at baseline 2 % and a 1-point worsening
    report = compare_versions(
        [ProportionMetric("error_rate", 100, 5000, 100, 5000, min_effect=0.01)]
    )
    assert report.metrics[0].required_n_per_group == sample_size_two_proportions(0.02, 0.03)


def test_compare_versions_to_rows_carries_signal_when_exported() -> None:
    report = compare_versions([ProportionMetric("error_rate", 50, 5000, 150, 5000)])
    (row,) = report.to_rows()
    assert row["name"] == "error_rate"
    assert row["signal"] == "hold"
    assert row["verdict"] == "worse"


def test_compare_versions_rejects_metrics_when_names_repeat() -> None:
    with pytest.raises(InvalidInput):
        compare_versions(
            [ProportionMetric("e", 1, 100, 1, 100), ProportionMetric("e", 1, 100, 1, 100)]
        )
