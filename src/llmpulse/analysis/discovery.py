"""SliceFinder-style discovery of the worst 1-key and 2-key slices (METHODS.md §4.8).

The store hands over aggregates for every 1-key slice and every 2-key cross at once, so
instead of SliceFinder's breadth-first search with alpha-investing we test them all in one
family (Benjamini-Hochberg, §4.6) and then apply the "prefer simple slices" rule below.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from llmpulse.analysis.aggregates import run_pair_tests
from llmpulse.analysis.multiple import adjust_pvalues
from llmpulse.analysis.segments import (
    SliceKey,
    SliceResult,
    SliceStats,
    SliceTotals,
    compare_slices,
    dimension_totals,
)
from llmpulse.analysis.types import Direction, MetricKind, worse_sign
from llmpulse.domain.errors import InvalidInput

DEFAULT_MIN_EFFECT = 0.2
"""SliceFinder's effect-size threshold ε (`yeounoh/slicefinder` default; Cohen's "small")."""


def discover_slices(
    stats: SliceStats,
    totals: SliceTotals,
    *,
    kind: MetricKind,
    direction: Direction,
    min_support: int = 30,
    min_share: float = 0.005,
    q: float = 0.05,
    min_effect: float = DEFAULT_MIN_EFFECT,
    k: int = 20,
    confidence: float = 0.95,
) -> list[SliceResult]:
    """The top-k problematic slices by impact (METHODS.md §4.8), rule as follows.

    1. Run `compare_slices` over all 1-key and 2-key slices (support filter §4.1 first, one
       BH family §4.6). A slice is *problematic* when it is significant, worse, and its
       effect size φ (§4.8, sample variances) is at least `min_effect` in the worse direction.
    2. Every problematic 1-key slice is reported.
    3. A problematic 2-key slice (a=x, b=y) is reported only if it is also significantly
       worse than the remainder of each 1-key parent, i.e. against (a=x) minus itself and
       against (b=y) minus itself (tests of §4.2/§4.3, BH over all these parent tests, and
       each remainder must meet `min_support`). Then its problem is not explained by a
       parent: it is concentrated in the cross. A cross whose parent remainder is too small
       to test is treated as explained by that parent. Both parents must be in `stats`.
    4. A reported one-key slice that contains a reported two-key slice is folded under it
       (`explained_by`, no rank) when, without the child's spans, it is no longer
       significantly worse than the rest of its key (at q / reported slices; METHODS §4.11).
    5. Sort by impact (descending, ties by key), keep the first k and renumber `rank` 1..k.

    The rest of a slice is the other values of its key(s): spans lacking a key never count as
    the rest of its values. Slices under the minimum size follow, ``tested=False`` ("too small
    to test"), so none is silently left out.

    Returns:
        The ranked slices, worst first (at most k), the folded ones, then the untested ones.
    """
    if k < 1:
        raise InvalidInput(f"k must be ≥ 1, got {k}")
    results = compare_slices(
        stats, totals, kind=kind, direction=direction, min_support=min_support,
        min_share=min_share, q=q, confidence=confidence, rest_within_key=True,
    )  # fmt: skip
    sign = worse_sign(direction)
    problematic = [
        r for r in results if r.significant and r.worse and sign * r.effect >= min_effect
    ]
    singles = [r for r in problematic if len(r.keys) == 1]
    crosses = [r for r in problematic if len(r.keys) == 2]
    kept = _crosses_beyond_parents(
        stats, crosses, kind=kind, direction=direction, min_support=min_support, q=q,
        confidence=confidence,
    )  # fmt: skip
    singles, folded = _fold_parents(stats, singles, kept, kind=kind, direction=direction, q=q,
                                    min_support=min_support, confidence=confidence)  # fmt: skip
    chosen = sorted(singles + kept, key=lambda r: (-r.impact, r.keys))[:k]
    ranked = [dataclasses.replace(r, rank=i + 1) for i, r in enumerate(chosen)]
    untested = [r for r in results if not r.tested]
    return ranked + sorted(folded, key=lambda r: (-r.impact, r.keys)) + untested


def _fold_parents(
    stats: SliceStats, singles: list[SliceResult], crosses: list[SliceResult], *,
    kind: MetricKind, direction: Direction, q: float, min_support: int, confidence: float,
) -> tuple[list[SliceResult], list[SliceResult]]:  # fmt: skip
    """Split reported one-key slices into (kept, folded under a reported cross)."""
    if not crosses:
        return singles, []
    index = {key: i for i, key in enumerate(stats.keys)}
    agg = stats.aggregates
    whole = dimension_totals(stats.keys, agg)
    level = q / max(len(singles) + len(crosses), 1)
    sign = worse_sign(direction)
    kept, folded = [], []
    for r in singles:
        inside = [c for c in crosses if r.keys[0] in c.keys and c.keys in index]
        if not inside:
            kept.append(r)
            continue
        at = np.array([index[r.keys]], dtype=np.intp)
        parent, rest = agg.take(at), whole.take(at).minus(agg.take(at))
        for c in inside:
            parent = parent.minus(agg.take(np.array([index[c.keys]], dtype=np.intp)))
        t = run_pair_tests(kind, parent, rest, stats.shift, confidence)
        still = parent.n[0] >= min_support and t.p_value[0] <= level and sign * t.diff[0] > 0
        if still:
            kept.append(r)
        else:
            top = max(inside, key=lambda c: (c.impact, c.keys))
            folded.append(dataclasses.replace(r, explained_by=top.keys, rank=None))
    return kept, folded


def _crosses_beyond_parents(
    stats: SliceStats,
    crosses: list[SliceResult],
    *,
    kind: MetricKind,
    direction: Direction,
    min_support: int,
    q: float,
    confidence: float,
) -> list[SliceResult]:
    """The crosses that are significantly worse than the remainder of both parents."""
    index = {key: i for i, key in enumerate(stats.keys)}
    pairs: list[tuple[int, int, int]] = []  # (cross number, child row, parent row)
    for c, r in enumerate(crosses):
        parents = _parents(r.keys)
        if all(p in index for p in parents):
            pairs.extend((c, index[r.keys], index[p]) for p in parents)
    if not pairs:
        return []
    agg = stats.aggregates
    child = agg.take(np.array([p[1] for p in pairs], dtype=np.intp))
    remainder = agg.take(np.array([p[2] for p in pairs], dtype=np.intp)).minus(child)
    enough = remainder.n >= min_support
    where = np.flatnonzero(enough)
    tests = run_pair_tests(kind, child.take(where), remainder.take(where), stats.shift, confidence)
    ok = np.zeros(len(pairs), dtype=np.bool_)
    finite = np.isfinite(tests.p_value)
    p_adj = adjust_pvalues(tests.p_value[finite])
    worse = worse_sign(direction) * tests.diff[finite] > 0
    ok[where[finite]] = (p_adj <= q) & worse
    passed = [0] * len(crosses)
    for (c, _, _), good in zip(pairs, ok, strict=True):
        passed[c] += int(good)
    return [r for c, r in enumerate(crosses) if passed[c] == 2]


def _parents(key: SliceKey) -> tuple[SliceKey, SliceKey]:
    return (key[0],), (key[1],)
