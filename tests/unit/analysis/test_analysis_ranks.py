"""Mann-Whitney U, AUC, Cliff's δ and Hodges-Lehmann (§4.4)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from llmpulse.analysis import ranks
from llmpulse.analysis.ranks import hodges_lehmann, mann_whitney
from llmpulse.domain.errors import InvalidInput


def test_mann_whitney_matches_oracle_when_samples_are_separated() -> None:
    # METHODS.md §4.4 test oracle: U = 0, exact p = 2/C(8,4) = 0.0285714, asymptotic 0.0303828
    exact = mann_whitney([1, 2, 3, 4], [5, 6, 7, 8])
    asym = mann_whitney([1, 2, 3, 4], [5, 6, 7, 8], method="asymptotic")
    assert exact.u == 0.0
    assert math.isclose(exact.p_value, 2 / math.comb(8, 4), rel_tol=1e-9)
    assert math.isclose(exact.p_value, 0.0285714, abs_tol=5e-7)
    assert math.isclose(asym.p_value, 0.0303828, abs_tol=5e-7)
    assert exact.auc == 0.0
    assert exact.cliffs_delta == -1.0
    assert exact.hodges_lehmann == -4.0


def test_mann_whitney_counts_ties_as_half_when_values_repeat() -> None:
    # METHODS.md §4.4: U_S = #(s > r) + ½ #(s = r)
    res = mann_whitney([1, 2, 2], [2, 3])
    assert res.u == 1.0  # the two 2-vs-2 ties count ½ each; nothing else is greater
    assert math.isclose(res.auc, 1.0 / 6.0, rel_tol=1e-12)


def test_mann_whitney_agrees_with_brute_force_when_data_is_random() -> None:
    # METHODS.md §4.4: AUC = U/(n_S n_R), δ = 2·AUC - 1, HL = median of pairwise differences
    rng = np.random.default_rng(9)
    x, y = rng.lognormal(5.2, 0.5, 300).round(), rng.lognormal(5.0, 0.5, 200).round()
    res = mann_whitney(x, y)
    diffs = np.subtract.outer(x, y)
    u = float((diffs > 0).sum() + 0.5 * (diffs == 0).sum())
    assert math.isclose(res.u, u, rel_tol=1e-12)
    assert math.isclose(res.auc, u / (300 * 200), rel_tol=1e-12)
    assert math.isclose(res.cliffs_delta, 2 * res.auc - 1, rel_tol=1e-12)
    assert res.hodges_lehmann == float(np.median(diffs))
    assert math.isclose(res.p_value, stats.mannwhitneyu(x, y).pvalue, rel_tol=1e-12)


@pytest.mark.parametrize(("nx", "ny"), [(301, 200), (300, 200), (7, 9)])
def test_hodges_lehmann_selection_equals_enumeration_when_pairs_exceed_limit(
    monkeypatch: pytest.MonkeyPatch, nx: int, ny: int
) -> None:
    # METHODS.md §4.4: the large-sample path returns the same median of differences
    rng = np.random.default_rng(nx * ny)
    x, y = rng.normal(10, 3, nx), rng.normal(8, 2, ny)
    exact = hodges_lehmann(x, y)
    monkeypatch.setattr(ranks, "MAX_EXACT_PAIRS", 0)
    assert math.isclose(hodges_lehmann(x, y), exact, rel_tol=1e-12, abs_tol=1e-12)


def test_mann_whitney_rejects_sample_when_empty_or_nan() -> None:
    with pytest.raises(InvalidInput):
        mann_whitney([], [1.0])
    with pytest.raises(InvalidInput):
        mann_whitney([1.0, float("nan")], [1.0])
