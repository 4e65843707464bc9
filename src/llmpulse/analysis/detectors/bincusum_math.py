"""Binomial (Bernoulli) CUSUM arithmetic on counts: log-likelihood ratios, the chart, its ARL.

The chart of Reynolds & Stoumbos (1999, *J. Quality Technology* 31(1)) on per-bucket counts:
each bucket with `bad` events out of `total` trials adds the log-likelihood ratio of an
out-of-control rate p1 against the in-control rate p0,

    llr = bad·ln(p1/p0) + (total - bad)·ln((1 - p1)/(1 - p0)),

and S_t = max(0, S_{t-1} + llr_t), S_0 = 0, signals when S_t > h (Page 1954; METHODS.md §1.5
in likelihood-ratio form). With exact log-likelihood ratios the in-control average run length
is at least e^h whatever the trials per bucket (Lorden 1971: e^{S} is a supermartingale
under p0), so `h = ln(ARL0)` guarantees the target; `arl` computes the actual ARL for a fixed
trials-per-bucket by the Markov-chain method of Brook & Evans (1972).
"""

from __future__ import annotations

import math

import numpy as np

from llmpulse.analysis.lazy_scipy import stats
from llmpulse.analysis.types import FloatArray
from llmpulse.domain.errors import InvalidInput


def llr_weights(p0: float, p1: float) -> tuple[float, float]:
    """(a, c) = (ln(p1/p0), ln((1 - p1)/(1 - p0))): the ratio per event and per non-event.

    Raises:
        InvalidInput: a rate outside (0, 1), or p1 = p0 (the chart would never move).
    """
    if not (0.0 < p0 < 1.0 and 0.0 < p1 < 1.0) or p0 == p1:
        raise InvalidInput(f"binomial CUSUM needs 0 < p0, p1 < 1 and p1 != p0, got {p0}, {p1}")
    return math.log(p1 / p0), math.log((1.0 - p1) / (1.0 - p0))


def llr(
    bad: FloatArray, total: FloatArray, p0: float | FloatArray, p1: float | FloatArray
) -> FloatArray:
    """Per-bucket log-likelihood ratio of p1 against p0 (rates may differ per bucket)."""
    p0a = np.asarray(p0, dtype=np.float64)
    p1a = np.asarray(p1, dtype=np.float64)
    a = np.log(p1a / p0a)
    c = np.log((1.0 - p1a) / (1.0 - p0a))
    return np.asarray(bad * a + (total - bad) * c, dtype=np.float64)


def cusum_llr_path(increments: FloatArray) -> FloatArray:
    """S_t = max(0, S_{t-1} + llr_t), S_0 = 0: the chart after each bucket.

    Computed without a loop: with C_t = llr_1 + … + llr_t and C_0 = 0,
    S_t = C_t - min(C_0, …, C_t) (the chart is the rise above the running minimum).
    """
    cum = np.cumsum(np.asarray(increments, dtype=np.float64))
    return np.asarray(cum - np.minimum.accumulate(np.minimum(cum, 0.0)), dtype=np.float64)


def threshold_for(arl0: float) -> float:
    """h = ln(ARL0): the decision interval whose in-control ARL is at least `arl0` (Lorden).

    Raises:
        InvalidInput: arl0 must be above 1.
    """
    if not arl0 > 1.0 or math.isinf(arl0):
        raise InvalidInput(f"arl0 must be a finite number above 1, got {arl0}")
    return math.log(arl0)


def arl(p0: float, p1: float, n: int, h: float, p: float | None = None, cells: int = 600) -> float:
    """Average run length from S = 0 of the chart with `n` trials a bucket at true rate `p`.

    Brook & Evans (1972): the chart's value is a Markov chain on [0, h]; 0 is an atom (the
    chart returns there exactly), (0, h] is cut into `cells` cells represented by their
    midpoints, and ARL = ((I - Q)⁻¹·1)[0] over the transient states. `p` defaults to p0
    (the in-control ARL0).
    """
    a, c = llr_weights(p0, p1)
    rate = p0 if p is None else p
    k = np.arange(n + 1, dtype=np.float64)
    steps = k * a + (n - k) * c
    pmf = np.asarray(stats.binom.pmf(k, n, rate), dtype=np.float64)
    width = h / cells
    values = np.concatenate(([0.0], (np.arange(cells) + 0.5) * width))
    nxt = values[:, None] + steps[None, :]
    idx = np.where(nxt <= 0.0, 0, np.ceil(nxt / width).astype(np.int64))
    inside = nxt <= h
    q = np.zeros((cells + 1, cells + 1))
    rows = np.broadcast_to(np.arange(cells + 1)[:, None], idx.shape)
    np.add.at(q, (rows[inside], idx[inside]), np.broadcast_to(pmf, idx.shape)[inside])
    lengths = np.linalg.solve(np.eye(cells + 1) - q, np.ones(cells + 1))
    return float(lengths[0])
