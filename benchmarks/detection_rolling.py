"""Error-rate charts on a window longer than the interval (`every: 1m`, `window: 10m`).

Usage: ``.venv/bin/python benchmarks/detection_rolling.py [--seed N]``
(see benchmarks/README-detection.md).

The detection benchmark judges one-minute windows every minute. Issue 10's example monitor
judges a rolling ten-minute window every minute, which the monitor engine evaluates this way
(`monitors/engine.py`, `monitors/judge.py`): the baseline is ten-minute tumbling buckets that
end at or before the window starts, refitted whenever one closes, and the window is one
bucket holding the last ten minutes' counts. This script does the same on seeded counts
(~200 requests a minute, 1 % errors) through the alert state machine at `for` 0, for each
`rates` choice of the default detector: false alarms over two clean weeks, and evaluations
from onset to the first alert for ten 1 % -> 5 % shifts of an hour (one a day).
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from llmpulse.analysis.detectors.base import Baseline, Series
from llmpulse.analysis.detectors.registry import build
from llmpulse.monitors.evaluation import Evaluation
from llmpulse.monitors.policy import StatePolicy
from llmpulse.monitors.states import AlertState, AlertStatus, step

WEEK = 10_080
WINDOW = 10
T0 = datetime(2026, 11, 2, tzinfo=UTC)
Floats = npt.NDArray[np.float64]


def firings(rates: str, bad: Floats, total: Floats, first: int) -> list[int]:
    """Minutes at which an alert starts firing, evaluating every minute from `first`."""
    det = build("adaptive", {"rates": rates})
    cut = bad.size // WINDOW * WINDOW
    tb = bad[:cut].reshape(-1, WINDOW).sum(axis=1)
    tt = total[:cut].reshape(-1, WINDOW).sum(axis=1)
    state, fired = AlertState(), []
    base: Baseline | None = None
    upto = -1
    for t in range(first, bad.size + 1):  # the instant t judges minutes [t - 10, t)
        u = (t - WINDOW) // WINDOW  # tumbling buckets [0, u) end at or before t - 10
        if base is None or u != upto:
            lo = max(0, u - 4 * WEEK // WINDOW)
            starts = 60.0 * WINDOW * np.arange(lo, u)
            base, upto = det.fit(Series.counts(tb[lo:u], tt[lo:u], starts)), u
        window = Series.counts(
            [bad[t - WINDOW : t].sum()], [total[t - WINDOW : t].sum()], [60.0 * (t - WINDOW)]
        )
        at = T0 + timedelta(minutes=t)
        span = (at - timedelta(minutes=WINDOW), at)
        ev = Evaluation.from_verdict(at, det.score(base, window), window=span, detector="a")
        state, out = step(state, ev, StatePolicy())
        fired += [t for tr in out if tr.to_status is AlertStatus.FIRING]
    return fired


def main() -> None:
    """Print false alarms and delays per `rates` choice."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seed", type=int, default=7)
    seed = ap.parse_args().seed
    rng = np.random.default_rng(seed)
    total = rng.poisson(200, 3 * WEEK).astype(np.float64)
    clean = rng.binomial(total.astype(np.int64), 0.01).astype(np.float64)
    n = WEEK + 10 * 1440
    s_total = rng.poisson(200, n).astype(np.float64)
    p = np.full(n, 0.01)
    onsets = [WEEK + d * 1440 + 600 for d in range(10)]
    for o in onsets:
        p[o : o + 60] = 0.05
    shifted = rng.binomial(s_total.astype(np.int64), p).astype(np.float64)
    print(f"seed {seed}: rolling 10-minute window every minute, ~200 requests/min, 1 %")
    print("| rates | FA in 2 clean weeks | delays of ten 1 % -> 5 % shifts | FA in shift series |")
    print("|---|---|---|---|")
    for rates in ("both", "binomial_cusum", "p_chart"):
        fa_clean = len(firings(rates, clean, total, WEEK))
        fired = firings(rates, shifted, s_total, WEEK)
        delays = [min((t - o for t in fired if o < t <= o + 70), default=None) for o in onsets]
        fa = [t for t in fired if not any(o < t <= o + 70 + 60 for o in onsets)]
        print(f"| {rates} | {fa_clean} | {delays} | {len(fa)} |")


if __name__ == "__main__":
    main()
