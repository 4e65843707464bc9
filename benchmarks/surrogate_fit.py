"""Paired runs: surrogate fit time with scikit-learn's default OpenMP threads and with one (#13).

Fits the gradient-boosted surrogate on the planted credit rows of the unit tests, alternating
the two settings so that load from elsewhere on the machine hits both alike, and prints the
median of each and their ratio.

    .venv/bin/python benchmarks/surrogate_fit.py --pairs 5 --rows 400
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "unit" / "analysis"))
from test_explain_surrogate import _planted

from llmpulse.analysis.explain.surrogate import build_codecs, encode


def fit_seconds(x: np.ndarray, y: np.ndarray, one_thread: bool) -> float:
    """Seconds for one fit of the surrogate's model."""
    start = time.perf_counter()
    if one_thread:
        with threadpool_limits(limits=1, user_api="openmp"):
            HistGradientBoostingRegressor(max_iter=100, random_state=0).fit(x, y)
    else:
        HistGradientBoostingRegressor(max_iter=100, random_state=0).fit(x, y)
    return time.perf_counter() - start


def main() -> None:
    """Run the pairs and print medians."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--rows", type=int, default=400)
    args = parser.parse_args()
    rows, scores, _ = _planted()
    rows, scores = rows[: args.rows], scores[: args.rows]
    x = encode(rows, build_codecs(rows))
    y = np.asarray(scores)
    default, one = [], []
    for _ in range(args.pairs):
        default.append(fit_seconds(x, y, one_thread=False))
        one.append(fit_seconds(x, y, one_thread=True))
    d, o = statistics.median(default), statistics.median(one)
    print(f"default threads median {d:.3f} s  one thread median {o:.3f} s  ratio {d / o:.1f}x")


if __name__ == "__main__":
    main()
