"""Evaluate one detector over one synthetic series, minute by minute, through the state machine.

Each minute of the evaluated week is one evaluation: the window is that minute's bucket (the
last ten buckets for the sequential EWMA and CUSUM charts, the last `count_run` buckets of
counts for charts of counts such as the binomial CUSUM), the baseline the trailing seven
days before the current hour (four weeks for the seasonal detectors), refitted hourly as a
scheduler caching baselines would. Verdicts go through `llmpulse.monitors.states.step`; a
firing episode is one alert.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from detectionbench.series import EVAL_START, MIN_PER_DAY, MIN_PER_WEEK, TOTAL_MIN, Synthetic
from llmpulse.analysis.detectors.base import Baseline, Detector, Series, Verdict
from llmpulse.monitors.evaluation import Evaluation
from llmpulse.monitors.policy import StatePolicy
from llmpulse.monitors.states import AlertState, AlertStatus, step

SEQUENTIAL = {"ewma", "cusum"}
LONG_BASELINE = {"seasonal", "adaptive"}
REFIT_MIN = 60
GRACE_MIN = 10  # an alert starting up to 10 minutes after an incident ended still counts
T0 = datetime(2026, 11, 2, tzinfo=UTC)


@dataclass
class Outcome:
    """What one detector did on one series."""

    episodes: list[tuple[int, int]]  # (first firing minute, resolved minute or end)
    detected: list[int | None]  # per incident: intervals to detect (1 = first evaluation)
    false_alarms: int
    true_alarms: int


def _slice(s: Synthetic, lo: int, hi: int, starts: np.ndarray) -> Series:
    if s.bad is not None and s.total is not None:
        return Series.counts(s.bad[lo:hi], s.total[lo:hi], starts[lo:hi])
    return Series.of(s.values[lo:hi], starts[lo:hi])


def verdicts(name: str, det: Detector, s: Synthetic, count_window: int = 1) -> list[Verdict]:
    """The detector's verdict at every minute of the evaluated week of `s`.

    Point detectors judge the last bucket, or for counts the last `count_window` buckets
    pooled (Σbad/Σtotal, exact: R1); a latency percentile is never pooled from per-minute
    percentiles (R2), so latency windows are one bucket.
    """
    starts = s.start_s
    back = 4 * MIN_PER_WEEK if name in LONG_BASELINE else 7 * MIN_PER_DAY
    width = 10 if name in SEQUENTIAL else (count_window if s.bad is not None else 1)
    if s.bad is not None:  # a chart of counts over a run of buckets gets the whole run
        width = max(width, int(getattr(det, "count_run", 1)))
    out: list[Verdict] = []
    base: Baseline | None = None
    for t in range(EVAL_START, TOTAL_MIN):
        if base is None or (t - EVAL_START) % REFIT_MIN == 0:
            base = det.fit(_slice(s, max(0, t - back), t, starts))
        out.append(det.score(base, _slice(s, t - width + 1, t + 1, starts)))
    return out


def alerts(name: str, found: list[Verdict], policy: StatePolicy) -> list[tuple[int, int]]:
    """Firing episodes (first firing minute, minute it stopped) from the state machine."""
    state = AlertState()
    fired_at: int | None = None
    episodes: list[tuple[int, int]] = []
    for i, verdict in enumerate(found):
        t = EVAL_START + i
        at = T0 + timedelta(minutes=t + 1)  # evaluated when bucket t has closed
        window = (at - timedelta(minutes=1), at)
        ev = Evaluation.from_verdict(at, verdict, window=window, detector=name)
        state, transitions = step(state, ev, policy)
        for tr in transitions:
            if tr.to_status is AlertStatus.FIRING:
                fired_at = t
            elif tr.from_status is AlertStatus.FIRING and fired_at is not None:
                episodes.append((fired_at, t))
                fired_at = None
    if fired_at is not None:
        episodes.append((fired_at, TOTAL_MIN))
    return episodes


def match(episodes: list[tuple[int, int]], incidents: list[tuple[int, int]]) -> Outcome:
    """An episode overlapping [start, end + grace) of an incident is a true alarm."""
    detected: list[int | None] = []
    true_ids: set[int] = set()
    for lo, hi in incidents:
        first = None
        for i, (a, b) in enumerate(episodes):
            if a < hi + GRACE_MIN and b > lo:
                true_ids.add(i)
                if first is None and a >= lo:
                    first = a - lo + 1
                elif first is None:
                    first = 1  # already firing when the incident began
        detected.append(first)
    return Outcome(episodes, detected, len(episodes) - len(true_ids), len(true_ids))
