"""The rollout gate on stored spans (issue 11 item 7): a regression planted in the mean, in
the tail only (p95) or in the error rate fails the gate; an unchanged version passes, and
over twenty unchanged pairs the gate holds at most as often as its alpha allows."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from slo_traffic import traffic

from llmpulse.clock import ManualClock
from llmpulse.domain.spans import Span
from llmpulse.query.cohorts import CohortService
from llmpulse.query.segments import SegmentService
from llmpulse.query.service import QueryService
from llmpulse.slos.gate import GateResult, run_gate
from llmpulse.slos.service import SloService
from llmpulse.slos.spec import SloSpec
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.state.sql import SqlStateStore
from support.aio import run

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
T1 = T0 + timedelta(hours=2)
Latency = Callable[[random.Random], float]


class Gate:
    """The stores and services a gate needs."""

    def __init__(self, tmp_path: Path) -> None:
        self.events = DuckDBEventStore(tmp_path / "events.duckdb")
        self.state = SqlStateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
        clock = ManualClock(T1)
        self.query = QueryService(self.events, self.state)
        self.segments = SegmentService(self.query, CohortService(self.state, clock))
        self.slos = SloService(self.events, self.state, clock)
        self.n = 0

    def add(
        self, project: str, version: str, latency: Latency, error_every: int, seed: int
    ) -> None:
        """600 requests of one version over two hours, interleaved with the other version."""
        rng = random.Random(seed)
        spans: list[Span] = traffic(
            project, T0 + timedelta(seconds=version == "v2"), T1, 5, lambda _t: error_every,
            latency_ms=lambda _t: latency(rng), version=version, offset=self.n,
        )  # fmt: skip
        self.n += len(spans)
        self.events.append_spans(spans)

    def judge(self, project: str, **kw: object) -> GateResult:
        return run(
            run_gate(self.segments, self.query, self.slos, project, "v2", T0, T1, **kw)  # type: ignore[arg-type]
        )


@pytest.fixture
def gate(tmp_path: Path) -> Iterator[Gate]:
    g = Gate(tmp_path)
    yield g
    g.events.close()
    g.state.close()


def base(rng: random.Random) -> float:
    return rng.lognormvariate(6.0, 0.4)  # median ~400 ms


def slower(rng: random.Random) -> float:
    return base(rng) * 1.25


TAIL_FROM = 673.6  # the base distribution's p90: exp(6 + 0.4 * 1.2816)
TAIL_FACTOR, BODY_FACTOR = 1.8, 0.8135  # the same mean (numerically), a p95 1.8 times higher


def heavier_tail(rng: random.Random) -> float:
    """The slowest tenth 1.8 times slower, the rest faster so that the mean is unchanged."""
    v = base(rng)
    return v * TAIL_FACTOR if v > TAIL_FROM else v * BODY_FACTOR


def test_an_unchanged_version_passes(gate: Gate) -> None:
    gate.add("p", "v1", base, 100, 1)
    gate.add("p", "v2", base, 100, 2)
    result = gate.judge("p", baseline="v1")
    assert result.passed, result.reasons
    assert result.comparison.signal == "promote"
    assert result.comparison.windowed


@pytest.mark.parametrize(
    ("latency", "error_every", "worse"),
    [
        (slower, 100, "latency_ms:mean"),
        (heavier_tail, 100, "latency_ms:p95"),
        (base, 20, "error:rate"),
    ],
)
def test_a_planted_regression_fails(
    gate: Gate, latency: Latency, error_every: int, worse: str
) -> None:
    gate.add("p", "v1", base, 100, 1)
    gate.add("p", "v2", latency, error_every, 2)
    result = gate.judge("p")  # the baseline is picked: the only other version
    assert result.baseline == "v1"
    assert not result.passed
    verdicts = {v.name: v.verdict for v in result.comparison.metrics}
    assert verdicts[worse] == "worse"
    assert any(r.startswith(worse) for r in result.reasons)


def test_the_tail_regression_is_seen_only_in_the_tail(gate: Gate) -> None:
    gate.add("p", "v1", base, 100, 1)
    gate.add("p", "v2", heavier_tail, 100, 2)
    verdicts = {v.name: v.verdict for v in gate.judge("p").comparison.metrics}
    assert verdicts == {
        "latency_ms:mean": "no_detectable_difference",
        "latency_ms:p95": "worse",
        "error:rate": "no_detectable_difference",
    }


def test_the_candidates_slo_miss_fails_the_gate(gate: Gate) -> None:
    gate.add("p", "v1", base, 100, 1)
    gate.add("p", "v2", base, 100, 2)
    spec = SloSpec.model_validate(
        {"name": "fast", "project": "p", "objective": 0.999, "window": "1d",
         "sli": {"type": "latency", "threshold_ms": 1000}}
    )  # fmt: skip
    run(gate.slos.put(spec))
    result = gate.judge("p", baseline="v1")
    assert not result.passed
    (check,) = result.slos
    assert check.valid == 599  # v2's requests: every 12 s from one second in
    assert check.passed is False
    assert result.reasons == [r for r in result.reasons if r.startswith("SLO fast")]


def test_false_holds_on_unchanged_versions_stay_rare(gate: Gate) -> None:
    holds = 0
    for seed in range(20):
        project = f"null{seed}"
        gate.add(project, "v1", base, 100, 1000 + seed)
        gate.add(project, "v2", base, 100, 2000 + seed)
        holds += not gate.judge(project, baseline="v1").passed
    # Bonferroni over three guard rails keeps the family-wise rate at 5 %: P(>3 of 20) < 2 %.
    assert holds <= 3
