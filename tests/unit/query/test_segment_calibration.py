"""Calibration on clustered demo data (METHODS.md §4.10; issue 15 defect 2).

The demo generator's traffic is loaded into a real DuckDB store and read back per unit
(`UnitQuery`). Group labels are then shuffled across units (traces for the error rate and
latency, users for cost), 200 times with a fixed seed: there is no effect, so a test at
alpha = 0.05 must reject 3-7 % of the time. The span-level tests that assumed independent spans
reject far more often on the same shuffles, which is the defect.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import numpy as np
import pytest

from llmpulse.analysis.cluster_bootstrap import cluster_bootstrap_difference
from llmpulse.analysis.means import summary_from_sums, welch_from_summary
from llmpulse.analysis.proportions import two_proportion_z
from llmpulse.analysis.unit_segments import UnitKind, UnitRows, compare_unit_slices
from llmpulse.demo.generator import generate_demo
from llmpulse.domain.ids import ProjectName
from llmpulse.domain.metrics import parse_field
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.metric_api import UnitFrame, UnitQuery

SHUFFLES = 200
ALPHA = 0.05
BAND = (0.03, 0.07)
P = ProjectName("rag-demo")


@pytest.fixture(scope="module")
def demo_store() -> Iterator[DuckDBEventStore]:
    store = DuckDBEventStore(None)
    demo = generate_demo(end=datetime(2026, 11, 8, tzinfo=UTC), days=2)
    for batch in demo:
        store.append_spans(batch.spans)
    yield store
    store.close()


def _units(store: DuckDBEventStore, field: str, unit: str, raw: bool = False) -> UnitFrame:
    # key = the project itself: one value, so rows are per unit only
    q = UnitQuery(P, parse_field(field), "environment", unit, raw=raw)  # type: ignore[arg-type]
    return store.units(q)


def _labels(rng: np.random.Generator, units: int) -> np.ndarray:
    """A random half of the units (a shuffled balanced label), per shuffle."""
    return rng.permutation(units) < units // 2


def _unit_p(frame: UnitFrame, label: np.ndarray, kind: UnitKind) -> float:
    """p-value of "a" against the rest from the production path (`compare_unit_slices`)."""
    group = np.where(label[frame.cluster], 0, 1).astype(np.int64)
    rows = UnitRows(("a", "b"), group, frame.cluster, frame.n, frame.sum, frame.sumsq)
    out = compare_unit_slices(rows, "label", kind=kind, direction="higher_is_worse", quantile=0.95)
    (a,) = [r for r in out if r.keys == (("label", "a"),)]
    assert a.tested
    return a.p_value


def _per_unit(frame: UnitFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    units = int(frame.cluster.max()) + 1
    y = np.bincount(frame.cluster, weights=frame.sum, minlength=units)
    n = np.bincount(frame.cluster, weights=frame.n, minlength=units)
    ss = np.bincount(frame.cluster, weights=frame.sumsq, minlength=units)
    return y, n, ss, units


def test_error_rate_by_trace_is_calibrated_and_the_span_level_test_is_not(
    demo_store: DuckDBEventStore,
) -> None:
    frame = _units(demo_store, "error", "trace")
    assert frame.n.sum() > 10_000
    y, n, _, units = _per_unit(frame)
    rng = np.random.default_rng(1)
    naive = robust = 0
    for _ in range(SHUFFLES):
        a = _labels(rng, units)
        _, p = two_proportion_z(y[a].sum(), n[a].sum(), y[~a].sum(), n[~a].sum())
        naive += int(p[0] < ALPHA)
        robust += int(_unit_p(frame, a, "proportion") < ALPHA)
    assert BAND[0] <= robust / SHUFFLES <= BAND[1], robust / SHUFFLES
    # spans of a trace fail together: the old span-level test over-rejects
    assert naive / SHUFFLES > BAND[1], naive / SHUFFLES


def test_cost_mean_by_user_is_calibrated_and_welch_on_spans_is_not(
    demo_store: DuckDBEventStore,
) -> None:
    frame = _units(demo_store, "cost_usd", "user")
    y, n, ss, units = _per_unit(frame)
    rng = np.random.default_rng(2)
    naive = robust = 0
    for _ in range(SHUFFLES):
        a = _labels(rng, units)
        m, v = summary_from_sums(
            np.array([n[a].sum(), n[~a].sum()]), np.array([y[a].sum(), y[~a].sum()]),
            np.array([ss[a].sum(), ss[~a].sum()]),
        )  # fmt: skip
        w = welch_from_summary(m[0], v[0], n[a].sum(), m[1], v[1], n[~a].sum())
        naive += int(w.p_value[0] < ALPHA)
        robust += int(_unit_p(frame, a, "mean") < ALPHA)
    assert BAND[0] <= robust / SHUFFLES <= BAND[1], robust / SHUFFLES
    assert naive / SHUFFLES > BAND[1], naive / SHUFFLES


def test_latency_p95_by_trace_is_calibrated(demo_store: DuckDBEventStore) -> None:
    frame = _units(demo_store, "latency_ms", "trace", raw=True)
    units = int(frame.cluster.max()) + 1
    rng = np.random.default_rng(3)
    rejected = 0
    for _ in range(SHUFFLES):
        rejected += int(_unit_p(frame, _labels(rng, units), "distribution") < ALPHA)
    assert BAND[0] <= rejected / SHUFFLES <= BAND[1], rejected / SHUFFLES


@pytest.mark.slow
def test_version_gate_bootstrap_of_p95_by_trace_is_calibrated(demo_store: DuckDBEventStore) -> None:
    # the version gate's cluster bootstrap (B = 1000): labels shuffled across traces
    frame = _units(demo_store, "latency_ms", "trace", raw=True)
    units = int(frame.cluster.max()) + 1
    rng = np.random.default_rng(4)
    rejected = 0
    for i in range(SHUFFLES):
        a = _labels(rng, units)[frame.cluster]
        r = cluster_bootstrap_difference(
            frame.sum[a], frame.cluster[a], frame.sum[~a], frame.cluster[~a], 0.95,
            n_resamples=1000, seed=i,
        )  # fmt: skip
        rejected += int(r.ci_low > 0 or r.ci_high < 0)
    assert BAND[0] <= rejected / SHUFFLES <= BAND[1], rejected / SHUFFLES
