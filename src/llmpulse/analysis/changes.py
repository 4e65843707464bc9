"""What changed: slices whose metric moved between a baseline and a current window.

Each slice's current aggregates are tested against the same slice's baseline aggregates
(§4.2 z/Fisher or §4.3 Welch via `run_pair_tests`), with Benjamini-Hochberg across the slices
that pass the support rule in both windows (§4.1, §4.6). Impact is the slice's excess in the
current window: (value_cur - value_base) x n_cur, i.e. extra bad events or extra total (§4.7,
excess events applied over time instead of against the rest).

Every slice is returned with a `status` (nothing is skipped silently): ``reported`` findings
(ranked), ``folded`` under the finding that explains them, ``global`` for a shift that affects
all segments, ``improved``, ``not_significant``, or ``too_small`` (under the minimum size in a
window, or absent from the baseline). How findings are folded: `folding.fold_changes`
(METHODS.md §4.11).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

from llmpulse.analysis.aggregates import Aggregates, run_pair_tests
from llmpulse.analysis.multiple import adjust_pvalues
from llmpulse.analysis.segments import SliceKey, SliceStats, SliceTotals
from llmpulse.analysis.types import Direction, FloatArray, MetricKind, worse_sign

ChangeStatus = Literal["reported", "folded", "global", "improved", "not_significant", "too_small"]


@dataclass(frozen=True, slots=True)
class SliceChange:
    """One slice, current window against its own baseline (``keys == ()``: all traffic)."""

    keys: SliceKey
    n_baseline: int
    n_current: int
    baseline_value: float
    current_value: float
    diff: float
    ci_low: float
    ci_high: float
    effect: float
    p_value: float
    p_adjusted: float
    significant: bool
    worse: bool
    impact: float
    explained_by: SliceKey | None
    """The finding this slice is folded under (``()`` for a shift affecting all segments)."""
    rank: int | None
    status: ChangeStatus = "not_significant"


@dataclass(frozen=True, slots=True)
class Overlap:
    """Aggregates of S ∧ T for every slice S, in both windows, for one reported slice T."""

    baseline: SliceStats
    current: SliceStats


def _align(base: SliceStats, cur: SliceStats) -> tuple[list[SliceKey], Aggregates, Aggregates]:
    """Slices of the current window, with zero baseline aggregates where a slice is new."""
    where = {k: i for i, k in enumerate(base.keys)}
    keys = list(cur.keys)
    rows = np.array([where.get(k, -1) for k in keys], dtype=np.intp)
    present = rows >= 0

    def pick(values: FloatArray | None) -> FloatArray | None:
        if values is None:
            return None
        out = np.zeros(len(keys), dtype=np.float64)
        out[present] = values[rows[present]]
        return out

    ba = base.aggregates
    n = np.zeros(len(keys), dtype=np.float64)
    n[present] = ba.n[rows[present]]
    units = None
    if ba.units is not None:
        units = np.zeros((len(keys), 4), dtype=np.float64)
        units[present] = ba.units[rows[present]]
    return keys, Aggregates(n, pick(ba.bad), pick(ba.sum), pick(ba.sumsq), units), cur.aggregates


def discover_changes(
    baseline: SliceStats,
    current: SliceStats,
    *,
    kind: MetricKind,
    direction: Direction,
    min_support: int = 30,
    q: float = 0.05,
    k: int = 20,
    confidence: float = 0.95,
    totals: tuple[SliceTotals, SliceTotals] | None = None,
    overlaps: Mapping[SliceKey, Overlap] | None = None,
    material: float = 0.2,
) -> list[SliceChange]:
    """Every slice's change, findings folded and ranked (module docstring).

    Args:
        baseline: Per-slice aggregates of the baseline window.
        current: The same slices in the current window.
        kind: Test family.
        direction: Which way is worse.
        min_support: Smallest slice (in each window) that is tested.
        q: False discovery rate.
        k: How many findings are ranked.
        confidence: Level of the intervals.
        totals: (baseline, current) aggregates of all traffic, for the "affects all segments"
            check; without them no shift is called global.
        overlaps: For reported candidates T, aggregates of S ∧ T (see `folding`).
        material: Relative difference from the parent a two-key change needs (§4.11).
    """
    from llmpulse.analysis.folding import fold_changes

    keys, b, c = _align(baseline, current)
    if not keys:
        return []
    rows = _test_rows(keys, b, c, kind, direction, min_support, q, current.shift, confidence)
    return fold_changes(
        rows, baseline, current, kind=kind, direction=direction, q=q, k=k,
        min_support=min_support, confidence=confidence, totals=totals,
        overlaps=overlaps or {}, material=material,
    )  # fmt: skip


def _test_rows(
    keys: list[SliceKey], b: Aggregates, c: Aggregates, kind: MetricKind, direction: Direction,
    min_support: int, q: float, shift: float, confidence: float,
) -> dict[SliceKey, SliceChange]:  # fmt: skip
    tests = run_pair_tests(kind, c, b, shift, confidence)
    sign = worse_sign(direction)
    tested = (b.n >= min_support) & (c.n >= min_support)
    padj = np.full(len(keys), math.nan)
    idx = np.flatnonzero(tested)
    if idx.size:
        padj[idx] = adjust_pvalues(tests.p_value[idx], method="bh")
    rows: dict[SliceKey, SliceChange] = {}
    for i, key in enumerate(keys):
        diff = float(tests.diff[i])
        worse = bool(tested[i] and sign * diff > 0)
        sig = bool(tested[i] and padj[i] <= q)
        impact = sign * diff * float(c.n[i]) if tested[i] and math.isfinite(diff) else 0.0
        status: ChangeStatus = "too_small"
        if tested[i]:
            status = "improved" if sig and not worse else "not_significant"
        rows[key] = SliceChange(
            keys=key, n_baseline=int(b.n[i]), n_current=int(c.n[i]),
            baseline_value=float(tests.value2[i]), current_value=float(tests.value1[i]),
            diff=diff, ci_low=float(tests.ci_low[i]), ci_high=float(tests.ci_high[i]),
            effect=float(tests.effect[i]), p_value=float(tests.p_value[i]),
            p_adjusted=float(padj[i]), significant=sig, worse=worse, impact=impact,
            explained_by=None, rank=None, status=status,
        )  # fmt: skip
    return rows
