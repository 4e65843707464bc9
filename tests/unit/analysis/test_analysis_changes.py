"""What-changed discovery between two windows (METHODS.md §4.2, §4.6, §4.7)."""

from __future__ import annotations

import pytest

from llmpulse.analysis.changes import discover_changes
from llmpulse.analysis.segments import SliceStats

TIER_E = (("tier", "enterprise"),)
LINE_S = (("line", "sales"),)
BOTH = (("tier", "enterprise"), ("line", "sales"))
OTHER = (("tier", "free"),)


def _cost_stats(mean_both: float, n: int = 400) -> SliceStats:
    """Mean cost per slice with unit variance; enterprise x sales carries all of its parents."""
    base_mean = 1.0

    def sums(mean: float, count: int) -> tuple[float, float]:
        return mean * count, count * (1.0 + mean * mean) - (1.0)  # var ~ 1 (ddof=1 approx)

    rows = {
        TIER_E: (2 * n, (mean_both * n + base_mean * n) / (2 * n)),
        LINE_S: (2 * n, (mean_both * n + base_mean * n) / (2 * n)),
        BOTH: (n, mean_both),
        OTHER: (4 * n, base_mean),
    }
    keys = tuple(rows)
    ns = [rows[key][0] for key in keys]
    s = [sums(rows[key][1], rows[key][0]) for key in keys]
    return SliceStats(keys, ns, sum=[x[0] for x in s], sumsq=[x[1] for x in s])


def test_discover_changes_names_the_sharpest_slice_that_explains_a_jump() -> None:
    base, cur = _cost_stats(1.0), _cost_stats(5.0)
    out = discover_changes(base, cur, kind="mean", direction="higher_is_worse")
    ranked = [r for r in out if r.rank is not None]
    assert ranked[0].keys == BOTH
    assert ranked[0].impact == pytest.approx((5.0 - 1.0) * 400, rel=1e-6)
    explained = {r.keys: r.explained_by for r in out if r.explained_by is not None}
    assert explained == {TIER_E: BOTH, LINE_S: BOTH}
    assert all(r.keys != OTHER for r in out)


def test_discover_changes_uses_excess_events_for_rates() -> None:
    # §4.7: excess events = (p_cur - p_base) x n_cur; 40/400 now vs 4/400 before -> 36.
    base = SliceStats((TIER_E, OTHER), [400, 800], bad=[4, 8])
    cur = SliceStats((TIER_E, OTHER), [400, 800], bad=[40, 8])
    out = discover_changes(base, cur, kind="proportion", direction="higher_is_worse")
    assert out[0].keys == TIER_E
    assert out[0].rank == 1
    assert out[0].impact == pytest.approx(36.0)
    assert out[0].significant


def test_discover_changes_skips_slices_below_support_in_either_window() -> None:
    base = SliceStats((TIER_E,), [10], bad=[0])
    cur = SliceStats((TIER_E,), [400], bad=[200])
    assert discover_changes(base, cur, kind="proportion", direction="higher_is_worse") == []


def test_discover_changes_respects_direction_for_lower_is_worse() -> None:
    base = SliceStats((TIER_E, OTHER), [400, 400], bad=[300, 300])
    cur = SliceStats((TIER_E, OTHER), [400, 400], bad=[100, 300])
    out = discover_changes(base, cur, kind="proportion", direction="lower_is_worse")
    assert [r.keys for r in out if r.rank] == [TIER_E]
