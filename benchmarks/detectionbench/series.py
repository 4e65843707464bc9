"""Synthetic 1-minute series with planted incidents (latency p95 and error rate).

Every series covers five weeks of one-minute buckets: four weeks of history, then the week
that is evaluated, which holds the planted incidents (five per series, on five different
days). Latency is the p95 of each minute's requests (lognormal, 100 requests per minute);
the error rate comes as counts (requests per minute Poisson, errors binomial), so the
detectors see the same data a monitor would get from the metrics engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

MIN_PER_DAY = 1440
MIN_PER_WEEK = 7 * MIN_PER_DAY
HISTORY_WEEKS = 4
TOTAL_MIN = (HISTORY_WEEKS + 1) * MIN_PER_WEEK
EVAL_START = HISTORY_WEEKS * MIN_PER_WEEK
T0_S = 1_793_577_600.0  # 2026-11-02T00:00:00Z, a Monday
INCIDENTS_PER_SERIES = 5

KINDS = ("spike", "shift", "ramp", "variance", "seasonal", "clean")
ABRUPT = ("spike", "shift", "variance", "seasonal")

Floats = npt.NDArray[np.float64]


@dataclass
class Synthetic:
    """One generated series and where its incidents are (minute indices, end exclusive)."""

    metric: str
    kind: str
    seed: int
    values: Floats
    bad: Floats | None = None
    total: Floats | None = None
    incidents: list[tuple[int, int]] = field(default_factory=list)

    @property
    def start_s(self) -> Floats:
        """Bucket start times in Unix seconds."""
        return T0_S + 60.0 * np.arange(self.values.size, dtype=np.float64)


def _day_shape(minutes: npt.NDArray[np.int64]) -> Floats:
    """0 at night, 1 at the weekday afternoon peak (smooth), weekends at half height."""
    hour = (minutes % MIN_PER_DAY) / 60.0
    bump = np.clip(np.sin((hour - 6.0) / 14.0 * np.pi), 0.0, None)  # 06:00-20:00
    weekend = (minutes // MIN_PER_DAY) % 7 >= 5
    return np.where(weekend, 0.5 * bump, bump)


def _incident_starts(rng: np.random.Generator, length: int, night: bool) -> list[int]:
    days = np.sort(rng.choice(7, size=INCIDENTS_PER_SERIES, replace=False))
    starts = []
    for day in days:
        lo, hi = (60, 300) if night else (0, MIN_PER_DAY - length)
        starts.append(EVAL_START + int(day) * MIN_PER_DAY + int(rng.integers(lo, hi)))
    return starts


LENGTHS = {"spike": 3, "shift": 120, "ramp": 90, "variance": 30, "seasonal": 60}


def _profile(kind: str, length: int) -> Floats:
    """Incident strength over its minutes, 0..1 (the ramp grows over 60 minutes, then holds)."""
    if kind == "ramp":
        return np.minimum(1.0, (np.arange(length) + 1) / 60.0)
    return np.ones(length)


def latency(kind: str, seed: int) -> Synthetic:
    """p95 latency (ms) per minute: lognormal(800 ms, sigma 0.5), 100 requests a minute.

    Incidents multiply every request's latency: spike x3 (3 min), level shift x1.6 (2 h),
    slow ramp to x2.5 over 60 min then held 30 min, variance burst sigma 0.5 -> 0.9 (30 min,
    p95 x1.9). The seasonal series rises to x2 at the weekday peak; its incidents are x1.6
    for an hour at night, still below the daytime level.
    """
    rng = np.random.default_rng(seed)
    minutes = np.arange(TOTAL_MIN)
    mult = np.ones(TOTAL_MIN)
    sigma = np.full(TOTAL_MIN, 0.5)
    if kind == "seasonal":
        mult = 1.0 + _day_shape(minutes)
    incidents: list[tuple[int, int]] = []
    if kind != "clean":
        length = LENGTHS[kind]
        for s in _incident_starts(rng, length, night=kind == "seasonal"):
            prof = _profile(kind, length)
            if kind == "variance":
                sigma[s : s + length] = 0.9
            else:
                factor = {"spike": 3.0, "shift": 1.6, "ramp": 2.5, "seasonal": 1.6}[kind]
                mult[s : s + length] *= 1.0 + (factor - 1.0) * prof
            incidents.append((s, s + length))
    values = np.empty(TOTAL_MIN)
    for lo in range(0, TOTAL_MIN, 10_080):  # chunks keep memory small
        hi = min(lo + 10_080, TOTAL_MIN)
        z = rng.standard_normal((hi - lo, 100))
        ms = 800.0 * mult[lo:hi, None] * np.exp(sigma[lo:hi, None] * z)
        values[lo:hi] = np.percentile(ms, 95.0, axis=1)
    return Synthetic("latency_ms:p95", kind, seed, values, incidents=incidents)


def error_rate(kind: str, seed: int) -> Synthetic:
    """Errors out of requests per minute: Poisson(200) requests, 1 % errors.

    Incidents: spike to 15 % (3 min), level shift to 5 % (2 h), slow ramp to 8 % over
    60 min then held 30 min, variance burst (each minute's rate 1 % x lognormal(0.9, 0.8),
    mean about 3.4 %, for 30 min). The seasonal series has ten times more traffic at the
    weekday peak than at night (20 -> 380 requests a minute) and errors rising with load
    (0.5 % -> 1.5 %); its incidents are level shifts to 5 % for an hour at any time of day.
    """
    rng = np.random.default_rng(seed + 1_000)
    minutes = np.arange(TOTAL_MIN)
    traffic = np.full(TOTAL_MIN, 200.0)
    p = np.full(TOTAL_MIN, 0.01)
    if kind == "seasonal":
        shape = _day_shape(minutes)
        traffic = 20.0 + 360.0 * shape
        p = 0.005 + 0.01 * shape
    incidents: list[tuple[int, int]] = []
    if kind != "clean":
        length = LENGTHS[kind]
        for s in _incident_starts(rng, length, night=False):
            sl = slice(s, s + length)
            if kind == "variance":
                p[sl] = np.minimum(0.5, 0.01 * np.exp(rng.normal(0.9, 0.8, length)))
            else:
                top = {"spike": 0.15, "shift": 0.05, "ramp": 0.08, "seasonal": 0.05}[kind]
                p[sl] = p[sl] + (top - p[sl]) * _profile(kind, length)
            incidents.append((s, s + length))
    total = rng.poisson(traffic).astype(np.float64)
    bad = rng.binomial(total.astype(np.int64), p).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(total > 0, bad / total, np.nan)
    return Synthetic("error:rate", kind, seed, rate, bad=bad, total=total, incidents=incidents)


def generate(metric: str, kind: str, seed: int) -> Synthetic:
    """The series of `metric` (`latency` or `error`) with incidents of `kind`."""
    return latency(kind, seed) if metric == "latency" else error_rate(kind, seed)
