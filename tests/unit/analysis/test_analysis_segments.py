"""The segment engine on aggregates (§4.1-4.8)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
import pytest
from scipy import stats

from llmpulse.analysis.multiple import adjust_pvalues
from llmpulse.analysis.segments import SliceStats, SliceTotals, compare_slices
from llmpulse.domain.errors import InvalidInput

Builder = Callable[..., tuple[SliceStats, SliceTotals]]


def _requests(seed: int, n: int = 12_000) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "model": rng.choice(["m1", "m2", "m3", "m4"], n),
        "region": rng.choice(["eu", "us", "ap"], n),
    }


def test_compare_slices_ranks_planted_bad_slice_first_when_error_rate_is_quadrupled(
    build_slices: Builder,
) -> None:
    # METHODS.md §4.1-4.7: S vs complement, BH, rank by excess bad events
    cols = _requests(1)
    rng = np.random.default_rng(2)
    p = np.where(cols["model"] == "m3", 0.08, 0.02)
    errors = (rng.random(p.size) < p).astype(float)
    sliced, totals = build_slices(cols, errors, kind="proportion")
    results = compare_slices(sliced, totals, kind="proportion", direction="higher_is_worse")
    top = results[0]
    assert top.keys == (("model", "m3"),)
    assert top.rank == 1
    assert top.significant
    assert top.worse
    assert top.test == "z"
    m3 = cols["model"] == "m3"
    rate_s, rate_r = errors[m3].mean(), errors[~m3].mean()
    assert math.isclose(top.value, rate_s)
    assert math.isclose(top.rest_value, rate_r)
    assert math.isclose(top.impact, (rate_s - rate_r) * m3.sum(), rel_tol=1e-9)
    assert top.ci_low < top.diff < top.ci_high
    # every ranked slice is significant and worse, ranks are 1..k in impact order
    ranked = [r for r in results if r.rank is not None]
    assert [r.rank for r in ranked] == list(range(1, len(ranked) + 1))
    assert all(r.significant and r.worse for r in ranked)
    assert [r.impact for r in ranked] == sorted((r.impact for r in ranked), reverse=True)


def test_compare_slices_filters_small_slice_before_testing_when_support_is_low() -> None:
    # METHODS.md §4.1 (filter by support before testing) and §4.6 (m = slices tested)
    keys = ((("model", "a"),), (("model", "b"),), (("model", "tiny"),), (("model", "c"),))
    n = np.array([4000, 3000, 10, 2990])
    bad = np.array([40, 90, 10, 30])
    sliced = SliceStats(keys, n, bad=bad)
    totals = SliceTotals(float(n.sum()), float(bad.sum()))
    results = compare_slices(sliced, totals, kind="proportion", direction="higher_is_worse")
    by_key = {r.keys[0][1]: r for r in results}
    tiny = by_key["tiny"]
    assert not tiny.tested
    assert tiny.test == "none"
    assert tiny.rank is None
    assert math.isnan(tiny.p_value)
    assert math.isnan(tiny.p_adjusted)
    assert results[-1] is tiny  # untested rows come last
    tested = [r for r in results if r.tested]
    assert len(tested) == 3
    expected = adjust_pvalues([r.p_value for r in tested])
    np.testing.assert_allclose([r.p_adjusted for r in tested], expected, rtol=1e-12)


def test_compare_slices_skips_slice_when_traffic_share_is_below_half_a_percent() -> None:
    # METHODS.md §4.1: traffic share ≥ 0.5 %
    keys = ((("route", "big"),), (("route", "rare"),))
    n = np.array([99_960, 40])
    sliced = SliceStats(keys, n, bad=np.array([1000, 20]))
    results = compare_slices(
        sliced, SliceTotals(100_000, 1020), kind="proportion", direction="higher_is_worse"
    )
    rare = next(r for r in results if r.keys == (("route", "rare"),))
    assert not rare.tested
    assert math.isclose(rare.share, 0.0004)


def test_compare_slices_matches_methods_oracles_when_segment_is_40_of_400() -> None:
    # METHODS.md §4.2 (z = 7.5) and §4.7 (excess events 36) for segment B vs rest A
    keys = ((("segment", "A"),), (("segment", "B"),))
    sliced = SliceStats(keys, [800, 400], bad=[8, 40])
    results = compare_slices(
        sliced, SliceTotals(1200, 48), kind="proportion", direction="higher_is_worse"
    )
    b = next(r for r in results if r.keys == (("segment", "B"),))
    assert b.test == "z"
    assert math.isclose(b.p_value, 2 * stats.norm.sf(7.5), rel_tol=1e-9)
    assert math.isclose(b.impact, 36.0, rel_tol=1e-12)
    assert b.rank == 1
    assert b.explained_share == 1.0


def test_compare_slices_uses_fisher_when_expected_counts_are_below_five() -> None:
    # METHODS.md §4.1/§4.2: small expected counts → Fisher exact
    keys = ((("tier", "gold"),), (("tier", "basic"),))
    sliced = SliceStats(keys, [40, 2000], bad=[3, 2])
    results = compare_slices(
        sliced, SliceTotals(2040, 5), kind="proportion", direction="higher_is_worse"
    )
    gold = next(r for r in results if r.keys == (("tier", "gold"),))
    assert gold.test == "fisher"
    assert math.isclose(gold.p_value, stats.fisher_exact([[3, 37], [2, 1998]]).pvalue)


def test_compare_slices_reports_slicefinder_effect_when_given_methods_example() -> None:
    # METHODS.md §4.8 test oracle: S = [1,1,0,1] vs S' = [0,0,1,0,0,0], sample variances → 1.2780193
    keys = ((("f", "s"),), (("f", "other"),))
    sliced = SliceStats(keys, [4, 6], bad=[3, 1])
    results = compare_slices(
        sliced, SliceTotals(10, 4), kind="proportion", direction="higher_is_worse",
        min_support=2, min_share=0.0,
    )  # fmt: skip
    s = next(r for r in results if r.keys == (("f", "s"),))
    assert math.isclose(s.effect, 1.2780193, rel_tol=1e-6)


def test_compare_slices_equals_scipy_welch_when_metric_is_a_mean(build_slices: Builder) -> None:
    # METHODS.md §4.3 from sums: each slice vs its complement equals ttest_ind(equal_var=False)
    cols = _requests(3, n=3000)
    rng = np.random.default_rng(4)
    cost = rng.lognormal(-5, 0.6, 3000) * np.where(cols["region"] == "ap", 1.5, 1.0)
    sliced, totals = build_slices(cols, cost, kind="mean", crosses=False)
    results = compare_slices(sliced, totals, kind="mean", direction="higher_is_worse")
    for r in results:
        ((key, value),) = r.keys
        mask = cols[key] == value
        ref = stats.ttest_ind(cost[mask], cost[~mask], equal_var=False)
        assert r.test == "welch"
        assert math.isclose(r.p_value, ref.pvalue, rel_tol=1e-6)
        assert math.isclose(
            r.impact, (cost[mask].mean() - cost[~mask].mean()) * mask.sum(), rel_tol=1e-9
        )
    assert results[0].keys == (("region", "ap"),)
    assert results[0].rank == 1


def test_compare_slices_flags_low_slice_as_worse_when_lower_is_worse(build_slices: Builder) -> None:
    # METHODS.md R7 direction: an eval score that drops in one slice
    cols = _requests(5, n=4000)
    rng = np.random.default_rng(6)
    score = rng.normal(0.8, 0.1, 4000) - np.where(cols["model"] == "m2", 0.1, 0.0)
    sliced, totals = build_slices(cols, score, kind="mean", crosses=False)
    results = compare_slices(sliced, totals, kind="mean", direction="lower_is_worse")
    top = results[0]
    assert top.keys == (("model", "m2"),)
    assert top.worse
    assert top.diff < 0
    assert top.impact > 0
    assert top.effect < 0


def test_compare_slices_explained_shares_sum_to_one_within_a_dimension(
    build_slices: Builder,
) -> None:
    # share of the dimension's excess (documented in SliceResult)
    cols = _requests(7)
    rng = np.random.default_rng(8)
    p = np.where(cols["model"] == "m1", 0.06, np.where(cols["model"] == "m2", 0.04, 0.02))
    sliced, totals = build_slices(cols, (rng.random(p.size) < p).astype(float), kind="proportion")
    results = compare_slices(sliced, totals, kind="proportion", direction="higher_is_worse")
    models = [r for r in results if len(r.keys) == 1 and r.keys[0][0] == "model"]
    assert math.isclose(sum(r.explained_share for r in models), 1.0, rel_tol=1e-12)


def test_compare_slices_runs_in_milliseconds_when_three_keys_have_thousands_of_crosses() -> None:
    # design goal: the whole scan is vectorised (3 keys x 30 values, all pairwise crosses)
    rng = np.random.default_rng(9)
    keys = [((k, f"v{i}"),) for k in ("a", "b", "c") for i in range(30)]
    keys += [((k1, f"v{i}"), (k2, f"v{j}")) for k1, k2 in (("a", "b"), ("a", "c"), ("b", "c"))
             for i in range(30) for j in range(30)]  # fmt: skip
    n = rng.integers(20, 5000, len(keys)).astype(float)
    bad = rng.binomial(n.astype(int), 0.03).astype(float)
    sliced = SliceStats(tuple(keys), n, bad=bad)
    totals = SliceTotals(float(n.sum()) * 2, float(bad.sum()) * 2)
    start = time.perf_counter()
    results = compare_slices(sliced, totals, kind="proportion", direction="higher_is_worse")
    assert time.perf_counter() - start < 1.0
    assert len(results) == len(keys) == 2790


def test_compare_slices_rejects_input_when_arrays_do_not_match() -> None:
    with pytest.raises(InvalidInput):
        SliceStats(((("a", "1"),),), [10, 20], bad=[1, 2])
    sliced = SliceStats(((("a", "1"),),), [100], sum=[1.0], sumsq=[1.0])
    with pytest.raises(InvalidInput):
        compare_slices(sliced, SliceTotals(200, 5), kind="proportion", direction="higher_is_worse")
    with pytest.raises(InvalidInput):
        SliceStats(((("a", "1"),),), [100], sum=[1.0])
