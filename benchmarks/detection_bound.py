"""How often ANY test can see an error-rate incident within two evaluations (issue 10).

Usage: ``.venv/bin/python benchmarks/detection_bound.py`` (see benchmarks/README-detection.md).

Within two one-minute evaluations a detector has seen at most the incident's first two
minutes of counts. Against a known baseline rate p0 and traffic n a minute, the most powerful
test of "rate p0" against "rate p > p0" on those 2n trials at false-alarm probability α is
the (randomised) count test: fire when the two minutes hold more than c errors (Neyman–
Pearson; the binomial family has a monotone likelihood ratio). Its power is therefore an upper
bound on P(detected within two intervals) for every detector whose per-evaluation false-alarm
probability is α. With one evaluation a minute, α = 1/10,080 is about one false alarm a
week. For the variance burst (each minute's rate 1 % x lognormal(0.9, 0.8)) the count test is
not exactly optimal, so its power, computed by simulation, is an estimate, not a bound.
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
    print("| incident | a week of 1-minute tests at alpha = 1/10080 | alpha = 1/1440 |")
    print("|---|---|---|")
    for label, n, p0, p in rows:
        week = count_test_power(n, p0, p, 1 / WEEK)
        day = count_test_power(n, p0, p, 1 / 1440)
        print(f"| {label} | {week:.2f} | {day:.2f} |")
    print(
        f"| seasonal, mean over the benchmark's incident start times | "
        f"{seasonal_power(1 / WEEK):.2f} | {seasonal_power(1 / 1440):.2f} |"
    )
    print(
        f"| variance burst (estimate), 200 requests/min | {variance_power(1 / WEEK):.2f} | "
        f"{variance_power(1 / 1440):.2f} |"
    )


if __name__ == "__main__":
    main()
