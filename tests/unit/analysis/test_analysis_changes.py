"""What-changed discovery between two windows (METHODS.md §4.2, §4.6, §4.7)."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import Builder
from llmpulse.analysis.changes import Overlap, discover_changes
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
    assert {r.keys: r.status for r in out}[OTHER] == "not_significant"  # listed, not hidden


def test_discover_changes_uses_excess_events_for_rates() -> None:
    # §4.7: excess events = (p_cur - p_base) x n_cur; 40/400 now vs 4/400 before -> 36.
    base = SliceStats((TIER_E, OTHER), [400, 800], bad=[4, 8])
    cur = SliceStats((TIER_E, OTHER), [400, 800], bad=[40, 8])
    out = discover_changes(base, cur, kind="proportion", direction="higher_is_worse")
    assert out[0].keys == TIER_E
    assert out[0].rank == 1
    assert out[0].impact == pytest.approx(36.0)
    assert out[0].significant


def test_discover_changes_lists_slices_below_support_as_too_small_to_test() -> None:
    # issue 15, defect 5: a slice under the minimum size is listed, never silently skipped
    base = SliceStats((TIER_E,), [10], bad=[0])
    cur = SliceStats((TIER_E, OTHER), [400, 12], bad=[200, 1])
    out = discover_changes(base, cur, kind="proportion", direction="higher_is_worse")
    assert [(r.keys, r.status, r.rank) for r in out] == [
        (TIER_E, "too_small", None),
        (OTHER, "too_small", None),  # absent from the baseline
    ]
    assert out[1].n_baseline == 0


def test_discover_changes_respects_direction_for_lower_is_worse() -> None:
    base = SliceStats((TIER_E, OTHER), [400, 400], bad=[300, 300])
    cur = SliceStats((TIER_E, OTHER), [400, 400], bad=[100, 300])
    out = discover_changes(base, cur, kind="proportion", direction="lower_is_worse")
    assert [r.keys for r in out if r.rank] == [TIER_E]


TIERS = ("free", "pro", "enterprise")
LINES = ("search", "support", "sales")
REGIONS = ("us", "eu")


def _traffic(seed: int, n: int = 24_000) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "tier": rng.choice(TIERS, n, p=[0.5, 0.3, 0.2]),
        "line": rng.choice(LINES, n, p=[0.45, 0.35, 0.2]),
        "region": rng.choice(REGIONS, n),
    }


def _overlap(cols: dict[str, np.ndarray], y: np.ndarray, on: dict[str, str], kind: str,
             build: Builder) -> SliceStats:  # fmt: skip
    mask = np.ones(y.size, dtype=bool)
    for key, value in on.items():
        mask &= cols[key] == value
    return build({k: v[mask] for k, v in cols.items()}, y[mask], kind=kind)[0]


def test_a_nested_incident_is_reported_once_and_its_overlaps_fold_under_it(
    build_slices: Builder,
) -> None:
    # issue 15, defect 5: the cost jump in enterprise x sales came with more ranked slices
    # (its parents and crosses that overlap it) that lose significance once its spans go
    rng = np.random.default_rng(5)
    cols_b, cols_c = _traffic(1), _traffic(2)
    y_b = rng.normal(1.0, 0.3, cols_b["tier"].size)
    hit = (cols_c["tier"] == "enterprise") & (cols_c["line"] == "sales")
    y_c = rng.normal(1.0, 0.3, cols_c["tier"].size) + np.where(hit, 2.0, 0.0)
    base, tb = build_slices(cols_b, y_b, kind="mean")
    cur, tc = build_slices(cols_c, y_c, kind="mean")
    target = (("line", "sales"), ("tier", "enterprise"))
    on = {"tier": "enterprise", "line": "sales"}
    overlaps = {target: Overlap(_overlap(cols_b, y_b, on, "mean", build_slices),
                                _overlap(cols_c, y_c, on, "mean", build_slices))}  # fmt: skip
    out = discover_changes(base, cur, kind="mean", direction="higher_is_worse",
                           totals=(tb, tc), overlaps=overlaps)  # fmt: skip
    reported = [r.keys for r in out if r.status == "reported"]
    assert reported == [target]
    folded = {r.keys: r.explained_by for r in out if r.status == "folded"}
    assert folded[(("tier", "enterprise"),)] == target
    assert folded[(("line", "sales"),)] == target
    assert folded[(("region", "us"), ("tier", "enterprise"))] == target
    assert folded[(("line", "sales"), ("region", "eu"))] == target
    assert out[0].rank == 1
    assert out[0].keys == target


def test_a_shift_in_every_segment_is_reported_once_as_affecting_all(
    build_slices: Builder,
) -> None:
    # issue 15, defect 5: a global error burst was reported as "tier=free"
    rng = np.random.default_rng(6)
    cols_b, cols_c = _traffic(3), _traffic(4)
    y_b = (rng.random(cols_b["tier"].size) < 0.02).astype(float)
    y_c = (rng.random(cols_c["tier"].size) < 0.06).astype(float)
    base, tb = build_slices(cols_b, y_b, kind="proportion")
    cur, tc = build_slices(cols_c, y_c, kind="proportion")
    out = discover_changes(base, cur, kind="proportion", direction="higher_is_worse",
                           totals=(tb, tc))  # fmt: skip
    assert out[0].status == "global"
    assert out[0].keys == ()
    assert out[0].rank == 1
    assert [r for r in out if r.status == "reported"] == []
    free = next(r for r in out if r.keys == (("tier", "free"),))
    assert free.status == "folded"
    assert free.explained_by == ()


def test_a_parent_wide_change_is_not_reported_again_through_its_crosses(
    build_slices: Builder,
) -> None:
    # METHODS §4.11: a two-key slice must differ materially from its parent
    rng = np.random.default_rng(7)
    cols_b, cols_c = _traffic(5), _traffic(6)
    y_b = rng.normal(1.0, 0.3, cols_b["tier"].size)
    hit = cols_c["tier"] == "enterprise"
    y_c = rng.normal(1.0, 0.3, cols_c["tier"].size) + np.where(hit, 1.0, 0.0)
    base, tb = build_slices(cols_b, y_b, kind="mean")
    cur, tc = build_slices(cols_c, y_c, kind="mean")
    out = discover_changes(base, cur, kind="mean", direction="higher_is_worse",
                           totals=(tb, tc))  # fmt: skip
    assert [r.keys for r in out if r.status == "reported"] == [(("tier", "enterprise"),)]
    crosses = [r for r in out if len(r.keys) == 2 and ("tier", "enterprise") in r.keys]
    assert crosses
    assert all(r.status == "folded" for r in crosses)
    assert all(r.explained_by == (("tier", "enterprise"),) for r in crosses)
