"""Segments compared on a percentile of a distribution (latency), from samples.

Each segment's sample is tested against a sample of the rest with Mann-Whitney (METHODS.md
§4.4); the percentile difference gets a seeded bootstrap interval (§4.5); p-values are adjusted
with Benjamini-Hochberg over the segments that passed the support rule (§4.1, §4.6). Impact is
the percentile excess weighted by the segment's traffic share (value units, e.g. ms), so a
large slow segment ranks above a tiny one that is slower still.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from llmpulse.analysis.multiple import adjust_pvalues
from llmpulse.analysis.percentiles import bootstrap_percentile_difference, percentile
from llmpulse.analysis.ranks import mann_whitney
from llmpulse.analysis.segments import SliceKey, SliceResult
from llmpulse.analysis.types import Direction


def _one(
    key: SliceKey, n: int, share: float, inside: np.ndarray, rest: np.ndarray, quantile: float,
    sign: float, tested: bool, seed: int,
) -> tuple[SliceResult, float]:  # fmt: skip
    value = percentile(inside, quantile) if inside.size else math.nan
    rest_value = percentile(rest, quantile) if rest.size else math.nan
    diff = value - rest_value
    p, effect, lo, hi = math.nan, math.nan, math.nan, math.nan
    if tested:
        rt = mann_whitney(inside, rest)
        p, effect = rt.p_value, rt.cliffs_delta
        boot = bootstrap_percentile_difference(inside, rest, quantile, n_resamples=1000, seed=seed)
        lo, hi = boot.ci_low, boot.ci_high
    worse = bool(tested and sign * diff > 0)
    impact = sign * diff * share if tested and not math.isnan(diff) else 0.0
    row = SliceResult(
        keys=key, n=n, share=share, value=value, rest_value=rest_value, diff=diff,
        ci_low=lo, ci_high=hi, effect=effect, p_value=p, p_adjusted=math.nan,
        significant=False, worse=worse, impact=impact, explained_share=0.0,
        test="mann_whitney" if tested else "none", tested=tested, rank=None,
    )  # fmt: skip
    return row, p


def compare_distributions(
    keys: Sequence[SliceKey],
    ns: Sequence[int],
    total_n: int,
    samples: Sequence[tuple[Sequence[float], Sequence[float]]],
    *,
    quantile: float,
    direction: Direction = "higher_is_worse",
    min_support: int = 30,
    q: float = 0.05,
    seed: int = 0,
) -> list[SliceResult]:
    """Compare each segment's distribution with the rest's (see the module docstring).

    Args:
        keys: slice keys, one per segment.
        ns: spans in each segment (the share uses these, not the sample sizes).
        total_n: spans in scope.
        samples: per segment, (sample inside, sample of the rest).
        quantile: the percentile compared, in [0, 1].
        direction: whether higher values are worse.
        min_support: segments (and rests) with fewer sampled values are reported untested.
        q: false discovery rate for significance.
        seed: bootstrap seed.

    Returns:
        Significant-and-worse segments first by impact (ranked), then the others.
    """
    sign = 1.0 if direction == "higher_is_worse" else -1.0
    rows: list[SliceResult] = []
    pvals: list[float] = []
    for key, n, (inside, rest) in zip(keys, ns, samples, strict=True):
        a, b = np.asarray(inside, dtype=float), np.asarray(rest, dtype=float)
        tested = a.size >= min_support and b.size >= min_support
        share = n / total_n if total_n else 0.0
        row, p = _one(key, n, share, a, b, quantile, sign, tested, seed)
        rows.append(row)
        pvals.append(p)
    idx = [i for i, r in enumerate(rows) if r.tested]
    if idx:
        adjusted = adjust_pvalues(np.array([pvals[i] for i in idx]), method="bh")
        for i, padj in zip(idx, adjusted, strict=True):
            sig = bool(padj <= q)
            rows[i] = replace(rows[i], p_adjusted=float(padj), significant=sig)
    positive = sum(max(r.impact, 0.0) for r in rows if r.tested)
    rows = [
        replace(r, explained_share=max(r.impact, 0.0) / positive if positive > 0 else 0.0)
        for r in rows
    ]
    ranked = sorted((r for r in rows if r.significant and r.worse), key=lambda r: -r.impact)
    ranked = [replace(r, rank=i + 1) for i, r in enumerate(ranked)]
    others = sorted(
        (r for r in rows if not (r.significant and r.worse)),
        key=lambda r: (not r.tested, r.p_adjusted if r.tested else 0.0, r.keys),
    )
    return ranked + others
