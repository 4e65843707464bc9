"""Folding what-changed findings so one incident is reported once (METHODS.md §4.11).

Input: every slice's change (current vs baseline), already tested and BH-adjusted. Rules:

1. **Affects all segments.** When all traffic got significantly worse, every tested one-key
   value moved the same way, and no value's change differs significantly from the overall
   change (a z-test of the two changes per value, BH across them), the shift is reported
   once as global (``keys == ()``) and every other finding is folded under it.
2. **Two-key slices must differ materially from their parents.** A significant, worse two-key
   slice is a candidate only if, for each one-key parent, its change differs from the
   parent's by at least ``material`` (20 %) of the parent's change *and* lies outside the
   parent's confidence interval (§4.11 names either; both are required here, since small
   crosses leave a parent's interval by chance about one time in six).
3. **Folded under a more specific finding.** Candidates are taken most specific first, then by
   impact. A candidate S is reported only if it stays significantly worse after removing the
   spans it shares with every finding T already reported (S - S ∧ T in both windows, tested
   at q / candidates, Bonferroni over these re-tests); otherwise it is folded under the T
   that shares the most of its spans. S ∧ T is T when T ⊂ S, a two-key slice of the frame
   when S and T together fix two keys, and otherwise comes from a query filtered on T
   (``overlaps``); without it nothing is removed. A slice folded under a folded slice is
   pointed at the reported finding at the end of the chain.

Reported findings are ranked by impact; the first ``k`` keep their rank.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from llmpulse.analysis.aggregates import Aggregates, run_pair_tests
from llmpulse.analysis.changes import Overlap, SliceChange
from llmpulse.analysis.multiple import adjust_pvalues
from llmpulse.analysis.segments import SliceKey, SliceStats, SliceTotals
from llmpulse.analysis.types import Z_975, Direction, MetricKind, worse_sign


def fold_changes(
    rows: dict[SliceKey, SliceChange], baseline: SliceStats, current: SliceStats, *,
    kind: MetricKind, direction: Direction, q: float, k: int, min_support: int,
    confidence: float, totals: tuple[SliceTotals, SliceTotals] | None,
    overlaps: Mapping[SliceKey, Overlap], material: float,
) -> list[SliceChange]:  # fmt: skip
    """Apply the module's rules and order the rows: reported, folded, the rest."""
    sign = worse_sign(direction)
    hits = [r for r in rows.values() if r.significant and r.worse and r.impact > 0]
    glob = None
    if totals is not None:
        glob = _global(rows, totals, kind, direction, q, current.shift, confidence)
    folded: list[SliceChange] = []
    if glob is not None:
        folded = [replace(r, explained_by=(), status="folded") for r in hits]
        rest = [r for r in rows.values() if not (r.significant and r.worse and r.impact > 0)]
        return [glob, *_by_impact(folded), *_others(rest)]
    candidates: list[SliceChange] = []
    for r in hits:
        parent = None if len(r.keys) < 2 else _immaterial_to(r, rows, material)
        if parent is None:
            candidates.append(r)
        else:  # barely differs from its parent: the parent's change, seen in a cross
            folded.append(replace(r, explained_by=parent, status="folded"))
    candidates.sort(key=lambda r: (-len(r.keys), -r.impact, r.keys))
    index_b = {key: i for i, key in enumerate(baseline.keys)}
    index_c = {key: i for i, key in enumerate(current.keys)}
    reported: list[SliceChange] = []
    for r in candidates:
        parts: list[tuple[SliceChange, tuple[Aggregates, Aggregates]]] = []
        for t in reported:
            shared = _shared(r.keys, t.keys, overlaps, baseline, current, index_b, index_c)
            if shared is not None and shared[1].n[0] > 0:
                parts.append((t, shared))
        if not parts:
            reported.append(r)
            continue
        b, c = _single(baseline, index_b, r.keys), _single(current, index_c, r.keys)
        for _, (pb, pc) in parts:
            b, c = _minus(b, pb), _minus(c, pc)
        level = q / len(candidates)  # Bonferroni over the re-tests
        if _still_worse(b, c, kind, sign, level, min_support, current.shift, confidence):
            reported.append(r)
        else:
            best = max(parts, key=lambda tp: float(tp[1][1].n[0]))[0]
            folded.append(replace(r, explained_by=best.keys, status="folded"))
    order = sorted(reported, key=lambda r: (-r.impact, r.keys))
    ranked = [replace(r, rank=i + 1 if i < k else None, status="reported")
              for i, r in enumerate(order)]  # fmt: skip
    shown = {r.keys for r in ranked} | {r.keys for r in folded}
    left = [r for r in rows.values() if r.keys not in shown]
    return [*ranked, *_by_impact(_to_roots(folded)), *_others(left)]


def _to_roots(folded: list[SliceChange]) -> list[SliceChange]:
    """Point each folded slice at the reported finding at the end of its chain."""
    under = {r.keys: r.explained_by for r in folded}
    out = []
    for r in folded:
        target, seen = r.explained_by, {r.keys}
        while target is not None and target in under and target not in seen:
            seen.add(target)
            target = under[target]
        out.append(replace(r, explained_by=target))
    return out


def _by_impact(rows: list[SliceChange]) -> list[SliceChange]:
    return sorted(rows, key=lambda r: (-r.impact, r.keys))


def _others(rows: list[SliceChange]) -> list[SliceChange]:
    """Not significant (by adjusted p), then too small to test (by size)."""
    tested = sorted(
        (r for r in rows if r.status != "too_small"),
        key=lambda r: (r.p_adjusted if math.isfinite(r.p_adjusted) else 2.0, r.keys),
    )
    small = sorted((r for r in rows if r.status == "too_small"),
                   key=lambda r: (-r.n_current, r.keys))  # fmt: skip
    return [*tested, *small]


def _immaterial_to(
    r: SliceChange, rows: Mapping[SliceKey, SliceChange], share: float
) -> SliceKey | None:
    """The first tested one-key parent whose change the two-key change does not exceed
    materially (rule 2), or None when it differs materially from both."""
    for part in r.keys:
        p = rows.get((part,))
        if p is None or p.status == "too_small" or not math.isfinite(p.diff):
            continue
        far = abs(r.diff - p.diff) >= share * abs(p.diff)
        outside = not (p.ci_low <= r.diff <= p.ci_high)
        if not (far and outside):
            return p.keys
    return None


def _single(stats: SliceStats, index: Mapping[SliceKey, int], key: SliceKey) -> Aggregates:
    i = index.get(key)
    if i is None:
        return _zero(stats.aggregates)
    return stats.aggregates.take(np.array([i], dtype=np.intp))


def _zero(like: Aggregates) -> Aggregates:
    z = np.zeros(1, dtype=np.float64)
    e = tuple(None if a is None else z.copy() for a in (like.bad, like.sum, like.sumsq))
    units = None if like.units is None else np.zeros((1, 4), dtype=np.float64)
    return Aggregates(z, e[0], e[1], e[2], units)


def _minus(a: Aggregates, b: Aggregates) -> Aggregates:
    out = a.minus(b)
    return Aggregates(np.maximum(out.n, 0.0), out.bad, out.sum, out.sumsq, out.units)


def _shared(
    s: SliceKey, t: SliceKey, overlaps: Mapping[SliceKey, Overlap], base: SliceStats,
    cur: SliceStats, index_b: Mapping[SliceKey, int], index_c: Mapping[SliceKey, int],
) -> tuple[Aggregates, Aggregates] | None:  # fmt: skip
    """Aggregates of S ∧ T in (baseline, current); None when they are unknown or empty."""
    if _disjoint(s, t):
        return None
    if set(t) >= set(s):  # T ⊂ S: the shared spans are T's
        return _single(base, index_b, t), _single(cur, index_c, t)
    union = tuple(dict.fromkeys((*s, *t)))
    if len(union) == 2:  # S ∧ T is a two-key slice of the frame itself
        for key in (union, union[::-1]):
            if key in index_c:
                return _single(base, index_b, key), _single(cur, index_c, key)
        return None
    o = overlaps.get(t)
    if o is None:
        return None
    ib = {key: i for i, key in enumerate(o.baseline.keys)}
    ic = {key: i for i, key in enumerate(o.current.keys)}
    return _single(o.baseline, ib, s), _single(o.current, ic, s)


def _disjoint(s: SliceKey, t: SliceKey) -> bool:
    """Two slices that set one key to different values share no span."""
    values = dict(t)
    return any(key in values and values[key] != value for key, value in s)


def _still_worse(
    b: Aggregates, c: Aggregates, kind: MetricKind, sign: float, q: float, min_support: int,
    shift: float, confidence: float,
) -> bool:  # fmt: skip
    if b.n[0] < min_support or c.n[0] < min_support:
        return False
    t = run_pair_tests(kind, c, b, shift, confidence)
    return bool(t.p_value[0] <= q and sign * t.diff[0] > 0)


def _global(
    rows: Mapping[SliceKey, SliceChange], totals: tuple[SliceTotals, SliceTotals],
    kind: MetricKind, direction: Direction, q: float, shift: float, confidence: float,
) -> SliceChange | None:  # fmt: skip
    """The all-traffic change when it is a shift shared by every value of every key."""
    base_t, cur_t = totals
    b = Aggregates.build([base_t.n], *_opt(base_t), _units(base_t))
    c = Aggregates.build([cur_t.n], *_opt(cur_t), _units(cur_t))
    if b.n[0] < 2 or c.n[0] < 2:
        return None
    t = run_pair_tests(kind, c, b, shift, confidence)
    sign = worse_sign(direction)
    diff, p = float(t.diff[0]), float(t.p_value[0])
    singles = [r for r in rows.values() if len(r.keys) == 1 and r.status != "too_small"]
    if not (p <= q and sign * diff > 0) or not singles:
        return None
    if any(sign * r.diff <= 0 for r in singles):
        return None
    if _heterogeneous(singles, diff, float(t.ci_high[0] - t.ci_low[0]), q):
        return None
    return SliceChange(
        keys=(), n_baseline=int(b.n[0]), n_current=int(c.n[0]),
        baseline_value=float(t.value2[0]), current_value=float(t.value1[0]), diff=diff,
        ci_low=float(t.ci_low[0]), ci_high=float(t.ci_high[0]), effect=float(t.effect[0]),
        p_value=p, p_adjusted=p, significant=True, worse=True, impact=sign * diff * c.n[0],
        explained_by=None, rank=1, status="global",
    )  # fmt: skip


def _heterogeneous(singles: list[SliceChange], diff: float, width: float, q: float) -> bool:
    """Does some value's change differ from the overall change (BH over the values)?

    The overall change contains each value's, so the test is conservative; it is a screen for
    "this shift is everywhere", not a test of a planted slice.
    """
    se_all = width / (2 * Z_975)
    z = []
    for r in singles:
        se = (r.ci_high - r.ci_low) / (2 * Z_975)
        if not (math.isfinite(se) and se > 0):
            continue
        z.append((r.diff - diff) / math.sqrt(se * se + se_all * se_all))
    if not z:
        return False
    from llmpulse.analysis.lazy_scipy import stats

    p = 2.0 * stats.norm.sf(np.abs(np.array(z)))
    return bool((adjust_pvalues(p, method="bh") <= q).any())


def _units(t: SliceTotals) -> list[tuple[float, float, float, float]] | None:
    return None if t.units is None else [t.units]


def _opt(t: SliceTotals) -> tuple[list[float] | None, list[float] | None, list[float] | None]:
    def one(v: float | None) -> list[float] | None:
        return None if v is None else [v]

    return one(t.bad), one(t.sum), one(t.sumsq)
