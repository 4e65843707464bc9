"""EventStore contract: a count or approximate quantile answered from the summaries is the
answer of one moment, even when spans are committed while it reads (ADR 0050).

While an answer is read, spans are committed into its window, both into the slots the
sketches hold whole and into the partial slots at its edges that the spans answer, and the
backlog may be applied to the summaries too, again during the second read. The first read,
overlapped by a change, is dropped; the second reads a pinned snapshot, so its answer must be
that of the moment it started: every count exact over the spans stored then (the first
batch in, the second out), the quantiles within the sketch's 1 % of theirs, and it must
still come from the summaries. Before, both reads were dropped and the spans answered.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from store_factories import make_span

from llmpulse.domain.ids import ProjectName
from llmpulse.domain.metrics import parse_metric
from llmpulse.domain.spans import Span
from llmpulse.store.api import AttrEquals, SpanFilter, TimeRange
from llmpulse.store.events import sketch_copy
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.metric_api import MetricQuery

P = ProjectName("pinned")
T0 = datetime(2026, 11, 2, 0, 4, 11, tzinfo=UTC)  # not on a slot edge
COUNT, P50, P99 = (parse_metric(m, "m") for m in ("count", "latency_ms:p50", "latency_ms:p99"))
LO, HI = T0 + timedelta(minutes=13), T0 + timedelta(hours=2, minutes=47)  # partial edge slots
EDGES = (LO + timedelta(minutes=2), HI - timedelta(minutes=3))  # in the edge slots


def _spans(
    n: int, seed: int, first: int, starts: Callable[[random.Random], datetime]
) -> list[Span]:
    """``n`` spans, a third of them roots, lognormal latencies, region gold or blue."""
    rng = random.Random(seed)
    out = []
    for i in range(first, first + n):
        start = starts(rng)
        latency = rng.lognormvariate(5, 1.0)
        out.append(
            make_span(
                i,
                project=P,
                parent_span_id=None if i % 3 == 0 else f"{i + 7:016x}",
                start_time=start,
                end_time=start + timedelta(microseconds=round(latency * 1000)),
                metadata={"region": rng.choice(["gold", "blue"])},
            )
        )
    return out


def _late(first: int) -> list[Span]:
    """Spans committed while an answer reads: slow (so that counting them moves every
    quantile), half inside the whole slots, half in the two edge slots."""
    whole = _spans(400, 7, first, lambda r: LO + timedelta(minutes=r.uniform(20, 120)))
    edge = _spans(
        400, 8, first + 400, lambda r: r.choice(EDGES) + timedelta(seconds=r.uniform(0, 30))
    )
    return [replace(s, end_time=s.start_time + timedelta(seconds=90)) for s in whole + edge]


QUERIES = {
    "count": MetricQuery(P, (COUNT,), TimeRange(LO, HI)),
    "root-quantiles": MetricQuery(
        P, (COUNT, P50, P99), TimeRange(LO, HI), where=SpanFilter(root_only=True), approximate=True
    ),
    "hourly": MetricQuery(P, (COUNT,), TimeRange(LO, HI), bucket=timedelta(hours=1)),
    "metadata": MetricQuery(
        P,
        (COUNT,),
        TimeRange(LO, HI),
        where=SpanFilter(attributes=(AttrEquals("metadata.region", "gold"),)),
    ),
}


def _matches(name: str, s: Span) -> bool:
    if not LO <= s.start_time < HI:
        return False
    if name == "root-quantiles":
        return s.parent_span_id is None
    if name == "metadata":
        return s.metadata.get("region") == "gold"
    return True


def _check(name: str, got: Any, stored: list[Span]) -> None:
    """``got`` (a metric frame) is the answer over ``stored``."""
    kept = [s for s in stored if _matches(name, s)]
    assert sum(r.n for r in got.rows) == len(kept)
    if name == "root-quantiles":
        lat = np.array([s.latency_ms for s in kept])
        for i, q in ((1, 0.5), (2, 0.99)):  # the query's metrics: count, p50, p99
            assert got.rows[0].values[i] == pytest.approx(np.quantile(lat, q), rel=0.0101)


@pytest.mark.parametrize("name", list(QUERIES))
@pytest.mark.parametrize("backlog", [False, True], ids=["caught-up", "with-backlog"])
@pytest.mark.parametrize("applied", [False, True], ids=["commit", "commit-and-apply"])
def test_spans_committed_while_a_pinned_answer_reads_are_not_in_it(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    held: None,
    name: str,
    backlog: bool,
    applied: bool,
) -> None:
    store = DuckDBEventStore(tmp_path / "events.duckdb", search_index=False)
    window = lambda r: T0 + timedelta(seconds=r.uniform(0, 3 * 3600))  # noqa: E731
    stored = _spans(1500, 5, 0, window)
    for i in range(0, len(stored), 300):
        store.append_spans(stored[i : i + 300])
    store.catch_up()
    if backlog:  # committed, waiting for the summaries: readers add it themselves
        more = _spans(300, 6, 5000, window)
        store.append_spans(more)
        stored += more
    late = [_late(10_000), _late(20_000)]
    done: list[int] = []

    def meanwhile(read: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if len(done) < len(late):  # during each of the first two reads of the answer
                store.append_spans(late[len(done)])
                done.append(1)
                if applied:
                    store.catch_up()
            return read(*args, **kwargs)

        return wrapped

    monkeypatch.setattr(store, "_sketch_rows", meanwhile(store._sketch_rows))  # with a backlog
    frame = sketch_copy.SketchCopy.frame
    monkeypatch.setattr(sketch_copy.SketchCopy, "frame", meanwhile(frame))  # caught up
    before = store.metrics_summarized
    _check(name, store.metric(QUERIES[name]), stored + late[0])  # of the second read's start
    assert len(done) == 2  # spans were committed while each read ran
    assert store.metrics_summarized == before + 1  # ... and the summaries answered
    monkeypatch.undo()
    _check(name, store.metric(QUERIES[name]), stored + late[0] + late[1])  # the next: both
    store.close()
