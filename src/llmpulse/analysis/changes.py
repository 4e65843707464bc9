"""What changed: slices whose metric moved between a baseline and a current window.

Each slice's current aggregates are tested against the same slice's baseline aggregates
(§4.2 z/Fisher or §4.3 Welch via `run_pair_tests`), with Benjamini-Hochberg across the slices
that pass the support rule in both windows (§4.1, §4.6). Impact is the slice's excess in the
current window: (value_cur - value_base) x n_cur, i.e. extra bad events or extra total (§4.7,
excess events applied over time instead of against the rest).

Explanation rule: a significant one-key slice whose significant two-key child carries at least
``explained_by_child`` (default 80 %) of its impact is replaced by that child, so the report
names the sharpest slice that explains the change ("enterprise x sales" rather than
"enterprise" and "sales" separately). The rest are ranked by impact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from llmpulse.analysis.aggregates import Aggregates, run_pair_tests
from llmpulse.analysis.multiple import adjust_pvalues
from llmpulse.analysis.segments import SliceKey, SliceStats
from llmpulse.analysis.types import Direction, MetricKind, worse_sign


@dataclass(frozen=True, slots=True)
class SliceChange:
    """One slice, current window against its own baseline."""

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
    rank: int | None


def _align(base: SliceStats, cur: SliceStats) -> tuple[list[SliceKey], Aggregates, Aggregates]:
    where = {k: i for i, k in enumerate(base.keys)}
    keys = [k for k in cur.keys if k in where]
    bi = np.array([where[k] for k in keys], dtype=np.intp)
    pos = {k: i for i, k in enumerate(cur.keys)}
    ci = np.array([pos[k] for k in keys], dtype=np.intp)
    return keys, base.aggregates.take(bi), cur.aggregates.take(ci)


def discover_changes(
    baseline: SliceStats,
    current: SliceStats,
    *,
    kind: MetricKind,
    direction: Direction,
    min_support: int = 30,
    q: float = 0.05,
    explained_by_child: float = 0.8,
    k: int = 20,
    confidence: float = 0.95,
) -> list[SliceChange]:
    """Rank the slices whose metric got worse from baseline to current (module docstring)."""
    keys, b, c = _align(baseline, current)
    if not keys:
        return []
    tests = run_pair_tests(kind, c, b, current.shift, confidence)
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
        rows[key] = SliceChange(
            keys=key, n_baseline=int(b.n[i]), n_current=int(c.n[i]),
            baseline_value=float(tests.value2[i]), current_value=float(tests.value1[i]),
            diff=diff, ci_low=float(tests.ci_low[i]), ci_high=float(tests.ci_high[i]),
            effect=float(tests.effect[i]), p_value=float(tests.p_value[i]),
            p_adjusted=float(padj[i]), significant=sig, worse=worse, impact=impact,
            explained_by=None, rank=None,
        )  # fmt: skip
    return _explain_and_rank(rows, explained_by_child, k)


def _explain_and_rank(rows: dict[SliceKey, SliceChange], share: float, k: int) -> list[SliceChange]:
    hits = {key: r for key, r in rows.items() if r.significant and r.worse and r.impact > 0}
    children: dict[tuple[str, str], list[SliceChange]] = {}
    for r in hits.values():
        if len(r.keys) == 2:
            for part in r.keys:
                children.setdefault(part, []).append(r)
    kept: list[SliceChange] = []
    explained: list[SliceChange] = []
    for r in hits.values():
        best = None
        if len(r.keys) == 1:
            best = max(children.get(r.keys[0], []), key=lambda c: c.impact, default=None)
        if best is not None and best.impact >= share * r.impact:
            explained.append(replace(r, explained_by=best.keys))
        else:
            kept.append(r)
    ranked = sorted(kept, key=lambda r: (-r.impact, r.keys))[:k]
    ranked = [replace(r, rank=i + 1) for i, r in enumerate(ranked)]
    return ranked + sorted(explained, key=lambda r: (-r.impact, r.keys))
