"""Cluster bootstrap of a percentile difference, vectorised (METHODS.md §4.10, §4.11).

Each group's clusters (traces, sessions, users) are resampled with replacement, the
q-percentile ("linear", Hyndman-Fan 7, as `percentiles.percentile`) is recomputed on the
resampled spans, and the interval of candidate - baseline is the percentile interval of the
B differences; the p-value is twice the share of differences on the far side of 0.

Speed: only spans near the percentile can be a resample's percentile. The values are sorted
once; a window of ±8 cluster-robust standard errors (Woodruff, `clustered.py`) around the
percentile is expanded per resample, and clusters with no value in it count only through their
(spans, spans below the window), pooled by that pair. A resample is then one multinomial draw
over the pools and the window's clusters, which has the law of C uniform draws of clusters.
If any resample's percentile falls outside the window, all are redrawn with a wider one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from llmpulse.analysis.clustered import quantile_estimate
from llmpulse.analysis.percentiles import MIN_TAIL_POINTS, percentile
from llmpulse.analysis.types import FloatArray, IntArray, as_float_array
from llmpulse.domain.errors import InvalidInput

_CELLS = 4_000_000  # resample x cluster (or x window) cells held in memory at once


@dataclass(frozen=True, slots=True)
class ClusterBootstrap:
    """q-percentile of candidate minus baseline with a cluster-bootstrap interval."""

    q: float
    baseline_value: float
    candidate_value: float
    diff: float
    ci_low: float
    ci_high: float
    p_value: float
    sufficient: bool
    """False when a group has n·(1 - q) < 10 values (METHODS.md §4.5): no interval."""
    n_resamples: int
    seed: int
    baseline_clusters: int
    candidate_clusters: int


def _dense(clusters: IntArray) -> tuple[IntArray, int]:
    codes, inverse = np.unique(clusters, return_inverse=True)
    return inverse.astype(np.int64), int(codes.size)


def _group(values: FloatArray, clusters: IntArray) -> tuple[FloatArray, IntArray, int]:
    order = np.argsort(values, kind="stable")
    codes, c = _dense(clusters[order])
    return values[order], codes, c


def resampled_quantiles(
    values: FloatArray, clusters: IntArray, q: float, n_resamples: int, rng: np.random.Generator
) -> FloatArray:
    """The q-percentile of `n_resamples` cluster-bootstrap resamples of one group."""
    v, c, nc = _group(values, clusters)
    est = quantile_estimate(v, c, q)
    spread = 8.0 * est.se if math.isfinite(est.se) and est.se > 0 else math.inf
    state = rng.bit_generator.state
    while True:
        out = _resample(v, c, nc, q, n_resamples, rng, est.value, spread)
        if out is not None:
            return out
        rng.bit_generator.state = state  # same draws, wider window
        spread = math.inf if spread * 4 > v[-1] - v[0] else spread * 4


def _resample(
    v: FloatArray, c: IntArray, nc: int, q: float, n_resamples: int, rng: np.random.Generator,
    centre: float, spread: float,
) -> FloatArray | None:  # fmt: skip
    """Resample with a window of ±spread around the percentile; None if it was too narrow.

    A resample draws C clusters uniformly with replacement. Clusters without a value in the
    window matter only through (spans, spans below the window), so they are pooled by that
    pair; the draws are one multinomial over those pools and the window's own clusters.
    """
    if math.isfinite(spread):
        lo = int(np.searchsorted(v, centre - spread, side="left"))
        hi = int(np.searchsorted(v, centre + spread, side="right"))
    else:
        lo, hi = 0, v.size
    per_cluster = np.bincount(c, minlength=nc)
    below = np.bincount(c[:lo], minlength=nc)
    inside, local = np.unique(c[lo:hi], return_inverse=True)
    others = np.ones(nc, dtype=np.bool_)
    others[inside] = False
    base = int(per_cluster.max()) + 1
    pairs, counts = np.unique(per_cluster[others] * base + below[others], return_counts=True)
    size_n = np.concatenate([pairs // base, per_cluster[inside]]).astype(np.float64)
    size_below = np.concatenate([pairs % base, below[inside]]).astype(np.float64)
    pvals = np.concatenate([counts, np.ones(inside.size)]).astype(np.float64) / nc
    k = pairs.size
    window = v[lo:hi]
    out = np.empty(n_resamples, dtype=np.float64)
    step = max(1, _CELLS // max(pvals.size, window.size, 1))
    for start in range(0, n_resamples, step):
        b = min(step, n_resamples - start)
        draws = rng.multinomial(nc, pvals, size=b).astype(np.float64)
        total, under = draws @ size_n, draws @ size_below
        pos = q * (total - 1.0)
        r0 = np.floor(pos)
        cum = under[:, None] + np.cumsum(draws[:, k:][:, local], axis=1)
        if window.size == 0 or not ((under <= r0) & (cum[:, -1] > r0 + 1.0)).all():
            return None
        j0 = np.argmax(cum > r0[:, None], axis=1)
        j1 = np.argmax(cum > r0[:, None] + 1.0, axis=1)
        x0, x1 = window[j0], window[j1]
        out[start : start + b] = x0 + (pos - r0) * (x1 - x0)
    return out


def cluster_bootstrap_difference(
    candidate: FloatArray, candidate_clusters: IntArray,
    baseline: FloatArray, baseline_clusters: IntArray, q: float, *,
    n_resamples: int = 1000, confidence: float = 0.95, seed: int = 0,
) -> ClusterBootstrap:  # fmt: skip
    """Cluster-bootstrap CI and p-value of p_q(candidate) - p_q(baseline) (module docstring).

    Same seed ⇒ same result. The point estimates are the percentiles of all values.
    """
    if not 0.0 < q < 1.0:
        raise InvalidInput(f"quantile must be in (0, 1), got {q}")
    if n_resamples < 1:
        raise InvalidInput(f"n_resamples must be ≥ 1, got {n_resamples}")
    xc, xb = as_float_array(candidate).ravel(), as_float_array(baseline).ravel()
    cc = np.asarray(candidate_clusters, dtype=np.int64).ravel()
    cb = np.asarray(baseline_clusters, dtype=np.int64).ravel()
    if xc.shape != cc.shape or xb.shape != cb.shape:
        raise InvalidInput("each value needs a cluster")
    vb, vc = percentile(xb, q), percentile(xc, q)
    nb, ncand = int(np.unique(cb).size), int(np.unique(cc).size)
    enough = min(xc.size, xb.size) * (1.0 - q) >= MIN_TAIL_POINTS and min(nb, ncand) >= 2
    if not enough:
        nan = math.nan
        return ClusterBootstrap(q, vb, vc, vc - vb, nan, nan, nan, False, n_resamples, seed, nb,
                                ncand)  # fmt: skip
    rng = np.random.default_rng(seed)
    boot = resampled_quantiles(xc, cc, q, n_resamples, rng) - resampled_quantiles(
        xb, cb, q, n_resamples, rng
    )
    alpha = 1.0 - confidence
    low, high = np.quantile(boot, [alpha / 2.0, 1.0 - alpha / 2.0], method="linear")
    p = min(1.0, 2.0 * min(float(np.mean(boot <= 0.0)), float(np.mean(boot >= 0.0))))
    return ClusterBootstrap(
        q, vb, vc, vc - vb, float(low), float(high), p, True, n_resamples, seed, nb, ncand
    )
