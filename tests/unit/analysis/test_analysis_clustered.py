"""Clustered data (METHODS.md §4.10) and percentiles compared as percentiles (§4.11)."""

from __future__ import annotations

import numpy as np
import pytest

from llmpulse.analysis.cluster_bootstrap import (
    cluster_bootstrap_difference,
    resampled_quantiles,
)
from llmpulse.analysis.clustered import (
    compare_ratios,
    quantile_estimate,
    ratio_estimate,
)
from llmpulse.analysis.comparison import LatencyMetric, compare_versions


def test_ratio_estimate_matches_the_delta_method_by_hand() -> None:
    # y = [1, 0, 2, 1], n = [2, 1, 3, 2]: R = 0.5, residuals [0, -0.5, 0.5, 0],
    # Var = (0.5 / 3) / (4 · 2²) = 0.01041667
    est = ratio_estimate([1, 0, 2, 1], [2, 1, 3, 2])
    assert est.value == 0.5
    assert est.variance == pytest.approx(0.5 / 3 / 16)
    assert est.clusters == 4


def test_ratio_estimate_with_one_span_per_cluster_is_the_plain_variance_of_the_mean() -> None:
    rng = np.random.default_rng(1)
    y = (rng.random(500) < 0.1).astype(float)
    est = ratio_estimate(y, np.ones(500))
    assert est.variance == pytest.approx(y.var(ddof=1) / 500)


def test_compare_ratios_gives_a_normal_z_on_the_difference() -> None:
    a = ratio_estimate([3, 1, 2], [4, 4, 4])
    b = ratio_estimate([0, 1, 0, 1], [3, 3, 3, 3])
    d = compare_ratios([3, 1, 2], [4, 4, 4], [0, 1, 0, 1], [3, 3, 3, 3])
    se = np.sqrt(a.variance + b.variance)
    assert d.diff == pytest.approx(a.value - b.value)
    assert d.se == pytest.approx(se)
    assert d.ci_low == pytest.approx(d.diff - 1.959963984540054 * se)
    from scipy import stats

    assert d.p_value == pytest.approx(2 * stats.norm.sf(abs(d.diff) / se))


def _clustered(rng: np.random.Generator, clusters: int, shift: float = 0.0) -> tuple[
    np.ndarray, np.ndarray
]:  # fmt: skip
    sizes = rng.integers(1, 7, clusters)
    units = np.repeat(np.arange(clusters), sizes)
    effect = rng.normal(0, 0.6, clusters)[units]  # spans of a trace share their fate
    values = np.exp(5.0 + shift + effect + rng.normal(0, 0.3, units.size))
    return values, units


def test_woodruff_standard_error_matches_the_cluster_bootstrap_spread() -> None:
    rng = np.random.default_rng(4)
    v, u = _clustered(rng, 3000)
    order = np.argsort(v)
    est = quantile_estimate(v[order], u[order], 0.95)
    boot = resampled_quantiles(v, u, 0.95, 2000, np.random.default_rng(0))
    assert est.value == pytest.approx(np.quantile(v, 0.95))
    assert est.se == pytest.approx(boot.std(ddof=1), rel=0.2)
    # and the i.i.d. formula would be far too small here
    iid = quantile_estimate(v[order], np.arange(v.size), 0.95)
    assert iid.se < 0.75 * est.se


def test_cluster_bootstrap_equals_resampling_whole_clusters_by_brute_force() -> None:
    rng = np.random.default_rng(2)
    v, u = _clustered(rng, 800)
    fast = resampled_quantiles(v, u, 0.9, 300, np.random.default_rng(9))
    draws = np.random.default_rng(10).integers(0, 800, size=(1500, 800))
    groups = [v[u == c] for c in range(800)]
    brute = np.array([np.quantile(np.concatenate([groups[c] for c in d]), 0.9) for d in draws])
    # same law: the 2.5 %, 50 % and 97.5 % points of the two bootstrap distributions agree
    qs = [0.025, 0.5, 0.975]
    assert np.quantile(fast, qs) == pytest.approx(np.quantile(brute, qs), rel=0.03)


def test_cluster_bootstrap_is_seeded() -> None:
    rng = np.random.default_rng(3)
    v, u = _clustered(rng, 500)
    w, z = _clustered(rng, 500, shift=0.1)
    a = cluster_bootstrap_difference(w, z, v, u, 0.95, n_resamples=1000, seed=5)
    b = cluster_bootstrap_difference(w, z, v, u, 0.95, n_resamples=1000, seed=5)
    assert a == b
    assert a.ci_low < a.diff < a.ci_high
    assert a.baseline_clusters == 500


def test_version_gate_holds_a_heavier_p95_even_when_the_median_improved() -> None:
    # issue 15, defect 1: v2 is faster for most requests but its tail doubled. Mann-Whitney
    # called it "better"; the p95 compared as a p95 must say "worse" and hold the release.
    rng = np.random.default_rng(15)
    base = rng.lognormal(np.log(600), 0.35, 4000)
    fast = rng.lognormal(np.log(450), 0.35, 4000)
    tail = rng.random(4000) < 0.09
    cand = np.where(tail, rng.lognormal(np.log(2400), 0.2, 4000), fast)
    assert np.median(cand) < np.median(base)
    assert np.quantile(cand, 0.95) > np.quantile(base, 0.95)
    metrics = [
        LatencyMetric("latency_ms:p50", base, cand, quantile=0.5, guard_rail=False),
        LatencyMetric("latency_ms:p95", base, cand, quantile=0.95),
    ]
    report = compare_versions(metrics, n_resamples=1000, seed=1)
    p50, p95 = report.metrics
    assert p50.verdict == "better"
    assert p50.diff < 0
    assert p50.ci_high < 0
    assert p95.verdict == "worse"
    assert p95.diff > 0
    assert p95.ci_low > 0
    assert p95.baseline_value == pytest.approx(np.quantile(base, 0.95))
    assert p95.candidate_value == pytest.approx(np.quantile(cand, 0.95))
    assert report.signal == "hold"


def test_version_gate_verdicts_agree_in_sign_with_the_values_shown() -> None:
    rng = np.random.default_rng(8)
    for seed in range(20):
        base = rng.lognormal(6.0, 0.4, 300)
        cand = rng.lognormal(6.0 + rng.normal(0, 0.1), 0.4 + rng.normal(0, 0.1) ** 2, 300)
        (m,) = compare_versions(
            [LatencyMetric("x", base, cand)], n_resamples=1000, seed=seed
        ).metrics
        if m.verdict == "worse":
            assert m.candidate_value > m.baseline_value
            assert m.ci_low > 0
        if m.verdict == "better":
            assert m.candidate_value < m.baseline_value
            assert m.ci_high < 0


def test_version_gate_with_units_resamples_traces_not_spans() -> None:
    rng = np.random.default_rng(6)
    v, u = _clustered(rng, 400)
    w, z = _clustered(rng, 400)
    (m,) = compare_versions(
        [LatencyMetric("x", v, w, baseline_units=u, candidate_units=z)], n_resamples=1000
    ).metrics
    (iid,) = compare_versions([LatencyMetric("x", v, w)], n_resamples=1000).metrics
    assert m.baseline_units == 400
    assert m.candidate_units == 400
    assert (m.ci_high - m.ci_low) > 1.3 * (iid.ci_high - iid.ci_low)


def test_fast_percentile_tests_equal_the_direct_computation() -> None:
    # unit_percentiles never materialises the rest; here the rest is built and tested directly
    from llmpulse.analysis.clustered import compare_ratios, difference
    from llmpulse.analysis.unit_percentiles import percentile_tests

    rng = np.random.default_rng(11)
    v, u = _clustered(rng, 2500)
    order = np.argsort(v)
    v, u = v[order], u[order]
    g = rng.integers(0, 4, v.size)
    out = percentile_tests(v, g, u, 4, int(u.max()) + 1, 0.95, np.ones(4, dtype=bool))
    xi = np.quantile(v, 0.95)
    for k, got in enumerate(out):
        assert got is not None
        inside = g == k
        a = quantile_estimate(v[inside], u[inside], 0.95)
        b = quantile_estimate(v[~inside], u[~inside], 0.95)
        want = difference(a.value, a.se**2, b.value, b.se**2)
        units = int(u.max()) + 1
        above = (v > xi).astype(float)
        y1 = np.bincount(u[inside], weights=above[inside], minlength=units)
        n1 = np.bincount(u[inside], minlength=units).astype(float)
        y2 = np.bincount(u[~inside], weights=above[~inside], minlength=units)
        n2 = np.bincount(u[~inside], minlength=units).astype(float)
        p = compare_ratios(y1, n1, y2, n2).p_value
        assert got.value1 == pytest.approx(want.value1, rel=1e-12)
        assert got.value2 == pytest.approx(want.value2, rel=1e-12)
        assert got.ci_low == pytest.approx(want.ci_low, rel=1e-9)
        assert got.ci_high == pytest.approx(want.ci_high, rel=1e-9)
        assert got.p_value == pytest.approx(p, rel=1e-9)


def test_pair_tests_on_unit_sums_equal_the_delta_method_on_unit_totals() -> None:
    # what the store returns per slice (C, Σy², Σyn, Σn²) gives the same test as the totals
    from llmpulse.analysis.aggregates import Aggregates, run_pair_tests

    rng = np.random.default_rng(12)
    sizes_a, sizes_b = rng.integers(1, 6, 300), rng.integers(1, 6, 400)
    ya, yb = rng.binomial(sizes_a, 0.2).astype(float), rng.binomial(sizes_b, 0.1).astype(float)
    na, nb = sizes_a.astype(float), sizes_b.astype(float)

    def agg(y: np.ndarray, n: np.ndarray) -> Aggregates:
        units = [[y.size, y @ y, y @ n, n @ n]]
        return Aggregates.build([n.sum()], [y.sum()], units=units)

    t = run_pair_tests("proportion", agg(ya, na), agg(yb, nb), 0.0, 0.95)
    want = compare_ratios(ya, na, yb, nb)
    assert t.names == ["delta_method"]
    assert t.diff[0] == pytest.approx(want.diff)
    assert t.p_value[0] == pytest.approx(want.p_value, rel=1e-9)
    assert t.ci_low[0] == pytest.approx(want.ci_low, rel=1e-9)
