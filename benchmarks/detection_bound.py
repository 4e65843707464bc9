"""How often ANY test can see an error-rate incident within two evaluations (issue 10).

Usage: ``.venv/bin/python benchmarks/detection_bound.py`` (see benchmarks/README-detection.md).

Within two one-minute evaluations a detector has seen at most the incident's first two
minutes of counts beyond what it saw before the onset, and that history is alike with and
without the incident. So "an alert starts within the incident's first two evaluations" is a
test of rate p0 against a rate p > p0 on those 2n trials. Under no incident it happens with
probability alpha ≈ 2 / (evaluations per false alarm): 2/10,080 for one false alarm a week.
The most powerful test at that level is the (randomised) count test: fire when the two
minutes hold more than c errors (Neyman-Pearson; the binomial family has a monotone
likelihood ratio). Its power is therefore an upper bound on P(detected within two
intervals) for every detector with that false-alarm rate. For the variance burst (each
minute's rate 1 % x lognormal(0.9, 0.8)) the count test is not the optimal test, so its
power, computed by simulation, is only an estimate, not a bound.
"""

from __future__ import annotations

import numpy as np

from detectionbench.series import MIN_PER_DAY, _day_shape
from llmpulse.analysis.lazy_scipy import stats

WEEK = 10_080


def count_test_power(n: float, p0: float, p: float, alpha: float) -> float:
    """Power of the randomised level-alpha count test on Binomial(2n) trials (2 minutes)."""
    m = round(2 * n)
    c = int(stats.binom.isf(alpha, m, p0))  # P0(X > c) <= alpha < P0(X > c - 1)
    tail = float(stats.binom.sf(c, m, p0))
    gamma = (alpha - tail) / float(stats.binom.pmf(c, m, p0))  # randomise at X = c
    return float(stats.binom.sf(c, m, p)) + gamma * float(stats.binom.pmf(c, m, p))


def variance_power(alpha: float, seed: int = 0, draws: int = 400_000) -> float:
    """Count-test power on two minutes of a variance burst (simulated)."""
    rng = np.random.default_rng(seed)
    n = rng.poisson(200, (draws, 2))
    rate = np.minimum(0.5, 0.01 * np.exp(rng.normal(0.9, 0.8, (draws, 2))))
    x = rng.binomial(n, rate).sum(axis=1)
    c = int(stats.binom.isf(alpha, 400, 0.01))
    return float(np.mean(x > c))


def seasonal_power(alpha: float) -> float:
    """Mean bound over the seasonal series' incident starts (uniform over a day's first
    23 hours, weekdays and weekends alike; traffic and base rate follow `_day_shape`)."""
    minutes = np.concatenate([np.arange(1380) + d * MIN_PER_DAY for d in range(7)])
    shape = _day_shape(minutes)
    powers = [
        count_test_power(20.0 + 360.0 * float(s), 0.005 + 0.01 * float(s), 0.05, alpha)
        for s in shape
    ]
    return float(np.mean(powers))


def main() -> None:
    """Print the bound for each abrupt error-rate incident of the benchmark."""
    rows = [
        ("level shift 1 % -> 5 %, 200 requests/min", 200, 0.01, 0.05),
        ("seasonal at night: 0.5 % -> 5 %, 20 requests/min", 20, 0.005, 0.05),
        ("seasonal at the weekday peak: 1.5 % -> 5 %, 380/min", 380, 0.015, 0.05),
    ]
    week, day = 2 / WEEK, 2 / MIN_PER_DAY
    print("| incident | bound at one false alarm a week | at one a day |")
    print("|---|---|---|")
    for label, n, p0, p in rows:
        print(
            f"| {label} | {count_test_power(n, p0, p, week):.2f} | "
            f"{count_test_power(n, p0, p, day):.2f} |"
        )
    print(
        f"| seasonal, mean over the benchmark's incident start times | "
        f"{seasonal_power(week):.2f} | {seasonal_power(day):.2f} |"
    )
    print(
        f"| variance burst (estimate, not a bound), 200 requests/min | "
        f"{variance_power(week):.2f} | {variance_power(day):.2f} |"
    )


if __name__ == "__main__":
    main()
