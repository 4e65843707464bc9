"""Sample size per group needed to detect an effect (two-sided alpha, power 1 - β).

Used by the version comparison to say "you would need about N requests per version to see
this difference". Normal-approximation formulas; results are rounded up.
"""

from __future__ import annotations

import math

from llmpulse.analysis.lazy_scipy import stats
from llmpulse.domain.errors import InvalidInput


def _z_sum(alpha: float, power: float) -> tuple[float, float]:
    if not 0.0 < alpha < 1.0:
        raise InvalidInput(f"alpha must be in (0, 1), got {alpha}")
    if not 0.0 < power < 1.0:
        raise InvalidInput(f"power must be in (0, 1), got {power}")
    return float(stats.norm.ppf(1.0 - alpha / 2.0)), float(stats.norm.ppf(power))


def sample_size_two_proportions(
    p1: float, p2: float, *, alpha: float = 0.05, power: float = 0.8
) -> int | None:
    """Per-group n to tell rate p1 from p2 (two-proportion z-test, METHODS.md §4.2).

    n = (z_{1-alpha/2}·√(2p̄(1 - p̄)) + z_{1-β}·√(p₁(1 - p₁) + p₂(1 - p₂)))² / (p₁ - p₂)²,
    p̄ = (p₁ + p₂)/2. 0.10 vs 0.15 at alpha = 0.05, power 0.8 → 686.

    Returns:
        The rounded-up n, or None when p1 == p2 (no finite n detects a zero effect).
    """
    for p in (p1, p2):
        if not 0.0 <= p <= 1.0:
            raise InvalidInput(f"rates must be in [0, 1], got {p}")
    if p1 == p2:
        return None
    za, zb = _z_sum(alpha, power)
    pbar = (p1 + p2) / 2.0
    root = za * math.sqrt(2.0 * pbar * (1.0 - pbar)) + zb * math.sqrt(
        p1 * (1.0 - p1) + p2 * (1.0 - p2)
    )
    return math.ceil(root**2 / (p1 - p2) ** 2)


def sample_size_two_means(
    variance: float, delta: float, *, alpha: float = 0.05, power: float = 0.8
) -> int | None:
    """Per-group n to detect a mean difference δ with common variance sigma² (§4.3).

    n = 2(z_{1-alpha/2} + z_{1-β})²sigma²/δ². sigma = 1, δ = 0.5 → 63.

    Returns:
        The rounded-up n, or None when δ = 0 or sigma² is not finite.
    """
    if variance < 0:
        raise InvalidInput(f"variance must be ≥ 0, got {variance}")
    if delta == 0 or not math.isfinite(variance) or not math.isfinite(delta):
        return None
    za, zb = _z_sum(alpha, power)
    return max(2, math.ceil(2.0 * (za + zb) ** 2 * variance / delta**2))


def sample_size_mann_whitney(auc: float, *, alpha: float = 0.05, power: float = 0.8) -> int | None:
    """Per-group n for a Mann-Whitney test to detect P(X > Y) = auc (Noether 1987, §4.4).

    Equal groups: N_total = (z_{1-alpha/2} + z_{1-β})²/(3(auc - ½)²), so n = N_total/2.

    Returns:
        The rounded-up n, or None when auc = 0.5.
    """
    if not 0.0 <= auc <= 1.0:
        raise InvalidInput(f"auc must be in [0, 1], got {auc}")
    if auc == 0.5:
        return None
    za, zb = _z_sum(alpha, power)
    return math.ceil((za + zb) ** 2 / (6.0 * (auc - 0.5) ** 2))
