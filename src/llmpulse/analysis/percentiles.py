"""Exact percentiles, order-statistic CIs and a seeded bootstrap for percentile differences.

The percentile definition is pinned to numpy's "linear" (Hyndman-Fan type 7, METHODS.md §1.10).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from llmpulse.analysis.lazy_scipy import stats
from llmpulse.analysis.types import FloatArray, as_float_array
from llmpulse.domain.errors import InvalidInput

MIN_TAIL_POINTS = 10.0
"""A q-percentile comparison needs n·(1 - q) ≥ 10 per sample (METHODS.md §4.1, §4.5)."""

DEFAULT_RESAMPLES = 2000
_CHUNK_VALUES = 2_000_000  # resampled values held in memory at once


def percentile(values: npt.ArrayLike, q: float) -> float:
    """The q-quantile (q in [0, 1]) by numpy's "linear" method (METHODS.md §1.10).

    [1..10] gives 9.1 at q = 0.9 and 5.5 at q = 0.5. NaN for an empty sample (R3).
    """
    _check_q(q)
    arr = as_float_array(values).ravel()
    if arr.size == 0:
        return math.nan
    return float(np.quantile(arr, q, method="linear"))


@dataclass(frozen=True, slots=True)
class PercentileInterval:
    """Distribution-free CI (x_(l), x_(u)) for a quantile (METHODS.md §4.5)."""

    estimate: float
    low: float
    high: float
    lower_rank: int
    """l, 1-indexed order statistic."""
    upper_rank: int
    """u, 1-indexed order statistic."""
    coverage: float
    """Exact coverage F_B(u - 1) - F_B(l - 1), B ~ Binomial(n, q)."""
    sufficient: bool
    """False when n is too small for the ranks to exist; then low/high are NaN."""


def order_statistic_ranks(n: int, q: float, *, confidence: float = 0.95) -> tuple[int, int, float]:
    """Equal-tailed order-statistic ranks for the q-quantile (METHODS.md §4.5).

    l = F_B⁻¹(alpha/2), u = F_B⁻¹(1 - alpha/2) + 1 with B ~ Binomial(n, q); coverage =
    F_B(u - 1) - F_B(l - 1). Median n = 100: (40, 61), 0.964800; p99 n = 1000: (983, 997).

    Returns:
        `(l, u, coverage)`; l may be 0 or u may exceed n when n is too small.
    """
    _check_q(q)
    if not 0.0 < confidence < 1.0:
        raise InvalidInput(f"confidence must be in (0, 1), got {confidence}")
    alpha = 1.0 - confidence
    binom = stats.binom(n, q)
    low = int(binom.ppf(alpha / 2.0))
    high = int(binom.ppf(1.0 - alpha / 2.0)) + 1
    coverage = float(binom.cdf(high - 1) - binom.cdf(low - 1))
    return low, high, coverage


def percentile_interval(
    values: npt.ArrayLike, q: float, *, confidence: float = 0.95
) -> PercentileInterval:
    """The q-percentile with its exact order-statistic CI (METHODS.md §1.10, §4.5)."""
    arr = np.sort(as_float_array(values).ravel())
    n = int(arr.size)
    est = percentile(arr, q)
    if n == 0:
        return PercentileInterval(est, math.nan, math.nan, 0, 0, math.nan, False)
    lo_rank, hi_rank, coverage = order_statistic_ranks(n, q, confidence=confidence)
    ok = lo_rank >= 1 and hi_rank <= n
    low = float(arr[lo_rank - 1]) if ok else math.nan
    high = float(arr[hi_rank - 1]) if ok else math.nan
    return PercentileInterval(est, low, high, lo_rank, hi_rank, coverage, ok)


@dataclass(frozen=True, slots=True)
class BootstrapDifference:
    """Percentile-bootstrap CI for percentile_q(x) - percentile_q(y) (METHODS.md §4.5)."""

    q: float
    diff: float
    ci_low: float
    ci_high: float
    sufficient: bool
    """False when n·(1 - q) < 10 for a sample; then the CI is NaN (too few tail points)."""
    n_resamples: int
    seed: int


def bootstrap_percentile_difference(
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    q: float,
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    confidence: float = 0.95,
    seed: int = 0,
) -> BootstrapDifference:
    """Seeded percentile-bootstrap CI of the difference of q-percentiles (METHODS.md §4.5).

    Resamples x and y independently (`numpy.random.default_rng(seed)`), recomputes
    percentile_q(x*) - percentile_q(y*) and takes the alpha/2 and 1 - alpha/2 quantiles. Requires
    n·(1 - q) ≥ 10 in both samples, else reports `sufficient=False` with NaN bounds, since
    the bootstrap cannot create values beyond the sample maximum. Same seed ⇒ same result.
    """
    _check_q(q)
    if n_resamples < 1:
        raise InvalidInput(f"n_resamples must be ≥ 1, got {n_resamples}")
    xs, ys = as_float_array(x).ravel(), as_float_array(y).ravel()
    diff = percentile(xs, q) - percentile(ys, q)
    enough = min(xs.size, ys.size) * (1.0 - q) >= MIN_TAIL_POINTS
    if not enough:
        return BootstrapDifference(q, diff, math.nan, math.nan, False, n_resamples, seed)
    rng = np.random.default_rng(seed)
    boot = _resampled_percentiles(xs, q, n_resamples, rng) - _resampled_percentiles(
        ys, q, n_resamples, rng
    )
    alpha = 1.0 - confidence
    low, high = np.quantile(boot, [alpha / 2.0, 1.0 - alpha / 2.0], method="linear")
    return BootstrapDifference(q, diff, float(low), float(high), True, n_resamples, seed)


def _resampled_percentiles(
    values: FloatArray, q: float, n_resamples: int, rng: np.random.Generator
) -> FloatArray:
    """q-percentile of each of `n_resamples` bootstrap resamples, in bounded-memory chunks."""
    n = values.size
    per_chunk = max(1, _CHUNK_VALUES // n)
    out = np.empty(n_resamples, dtype=np.float64)
    for start in range(0, n_resamples, per_chunk):
        stop = min(n_resamples, start + per_chunk)
        idx = rng.integers(0, n, size=(stop - start, n))
        out[start:stop] = np.quantile(values[idx], q, axis=1, method="linear")
    return out


def _check_q(q: float) -> None:
    if not 0.0 <= q <= 1.0:
        raise InvalidInput(f"quantile must be in [0, 1], got {q}")
