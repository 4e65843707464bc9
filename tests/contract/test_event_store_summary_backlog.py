"""EventStore contract: the summaries kept behind ingest (ADR 0039) answer exactly.

Committed batches wait in the summaries' backlog until the upkeep adds them; these tests
hold batches there (the upkeep's thresholds set out of reach) and check that every answer
the summaries give (span and metadata counts, sketch quantiles, trace totals, bounded
newest-first pages) equals the planted spans and the plain query, also across a delete, a
compaction and a reopen, after a failed commit, while the summaries are still being built
at open, and that the upkeep catches up by itself, adding many batches at once.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from test_event_store_summaries import (
    REGIONS,
    T0,
    P,
    _as_tuples,
    _count,
    _newest_in_python,
    _queries,
    _region_count,
    _region_query,
    _spans,
    _windows,
)

from llmpulse.clock import SystemClock
from llmpulse.domain.errors import Unavailable
from llmpulse.domain.ids import SpanId, TraceId
from llmpulse.domain.metrics import parse_metric
from llmpulse.domain.spans import Span
from llmpulse.store.api import SpanFilter, SpanQuery, TimeRange
from llmpulse.store.events import duckdb_faults, listing, sketch, summaries, summary_upkeep
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.events.duckdb_dialect import DIALECT
from llmpulse.store.events.metrics import compile_metric
from llmpulse.store.metric_api import MetricQuery

P95 = parse_metric("latency_ms:p95", "p95")
COUNT = parse_metric("count", "n")


def _late(spans: list[Span]) -> list[Span]:
    """New spans of old traces, days after them (slots the trace slots do not hold)."""
    return [
        replace(s, span_id=SpanId(f"late-{s.span_id}"), start_time=s.start_time + timedelta(days=2))
        for s in spans[:90:3]
    ]


@pytest.fixture
def lagging(tmp_path: Path, held: None) -> Iterator[tuple[DuckDBEventStore, list[Span]]]:
    """Half the spans in the summaries, the other half (and late spans) in the backlog."""
    spans = _spans(3000, seed=21)
    half = len(spans) // 2
    store = DuckDBEventStore(tmp_path / "events.duckdb")
    for i in range(0, half, 300):
        store.append_spans(spans[i : i + 300])
    store.catch_up()
    waiting = spans[half:] + _late(spans)
    for i in range(0, len(waiting), 300):
        store.append_spans(waiting[i : i + 300])
    assert store.summary_upkeep.backlog.spans == len(waiting)  # nothing added yet
    yield store, spans + _late(spans)
    store.close()


def _plain_count(store: DuckDBEventStore, q: MetricQuery) -> int:
    c = compile_metric(q, DIALECT)
    rows = store._query(c.sql, c.params)
    return int(rows[0][-1]) if rows and rows[0][-1] is not None else 0


def _answers(store: DuckDBEventStore, spans: list[Span]) -> dict[str, list[Any]]:
    """Every kind of answer the summaries give, checked against the planted spans (the
    sketch's quantiles, approximate, are returned to compare)."""
    out: list[Any] = []
    for lo, hi in _windows(2):
        for region in REGIONS:
            q = _region_query(region, lo, hi)
            n = _count(store, q)
            assert n == _region_count(spans, region, lo, hi), (region, lo, hi)
            out.append(n)
        q = MetricQuery(P, (COUNT,), TimeRange(lo, hi), where=SpanFilter(root_only=True))
        n = _count(store, q)
        assert n == sum(
            1 for s in spans if s.project == P and lo <= s.start_time < hi and not s.parent_span_id
        )
        out.append(n)
    lo, hi = T0 - timedelta(hours=1), T0 + timedelta(days=3)
    q = MetricQuery(P, (P95,), TimeRange(lo, hi), bucket=timedelta(hours=1), approximate=True)
    quantiles = [(r.bucket, r.n, r.values) for r in store.metric(q).rows]
    ids = [*sorted({s.trace_id for s in spans})[:60], TraceId("f" * 32)]
    totals = _as_tuples(store.trace_totals(ids))
    assert totals == _as_tuples(listing.trace_totals(store._query, ids))
    out.append(totals)
    for q2 in _queries(6):
        page = [s.span_id for s in store.list_spans(q2).items]
        assert page == _newest_in_python(spans, q2), q2
        out.append(page)
    return {"exact": out, "quantiles": quantiles}


def test_answers_with_batches_in_the_backlog_equal_the_planted_spans(
    lagging: tuple[DuckDBEventStore, list[Span]],
) -> None:
    store, spans = lagging
    assert store.sketch_guard.usable
    waiting = _answers(store, spans)
    assert store.summary_upkeep.backlog.spans  # answered with the backlog still there
    assert store.catch_up() > 0
    assert store.summary_upkeep.backlog.spans == 0
    # The sketch's quantiles too: the backlog's spans fall into the same bins.
    assert _answers(store, spans) == waiting


def test_counts_with_a_backlog_come_from_the_summaries_not_the_spans(
    lagging: tuple[DuckDBEventStore, list[Span]],
) -> None:
    """With a backlog the answer is the summary tables plus the backlog: emptying the span
    sketch's whole slots shows it (the plain query would not notice)."""
    store, spans = lagging
    lo, hi = T0 - timedelta(hours=1), T0 + timedelta(days=3)
    q = MetricQuery(P, (COUNT,), TimeRange(lo, hi))
    exact = sum(1 for s in spans if s.project == P and lo <= s.start_time < hi)
    assert _count(store, q) == exact == _plain_count(store, q)
    pending = store.summary_upkeep.pending()
    assert pending is not None
    store._con.execute(f"DELETE FROM {sketch.TABLE}")
    store._sketch_copy._projects.clear()  # (the copy of the table as it was, ADR 0064)
    # The backlog's spans of the project alone (all in whole slots).
    assert _count(store, q) == pending.column("project").to_pylist().count(P)


def test_a_delete_while_batches_wait_never_counts_the_deleted_spans(
    lagging: tuple[DuckDBEventStore, list[Span]],
) -> None:
    store, spans = lagging
    cut = T0 + timedelta(hours=4, seconds=7)
    assert store.delete_spans(P, before=cut) > 0
    kept = [s for s in spans if s.project != P or s.start_time >= cut]
    assert store.summary_upkeep.backlog.spans == 0  # added before the recount
    more = [
        replace(s, span_id=SpanId(f"{s.span_id}-m"), trace_id=TraceId(f"{s.trace_id}-m"))
        for s in _spans(600, seed=22)
    ]
    store.append_spans(more)  # and a new backlog after the delete
    _answers(store, kept + more)
    store.delete_spans(P)
    assert (
        _count(store, _region_query("eu-west", T0 - timedelta(days=1), T0 + timedelta(days=9))) == 0
    )
    assert store.list_spans(SpanQuery(P)).items == []


def test_compaction_and_reopen_while_batches_wait(
    lagging: tuple[DuckDBEventStore, list[Span]], tmp_path: Path
) -> None:
    store, spans = lagging
    before = _answers(store, spans)
    assert store.compact() is not None
    assert store.summary_upkeep.backlog.spans  # the backlog is carried over as it is
    assert _answers(store, spans) == before
    store.catch_up()
    assert _answers(store, spans) == before
    store.close()
    again = DuckDBEventStore(tmp_path / "events.duckdb")
    try:
        # While the summaries build behind the open the spans answer: the counts, totals and
        # pages exactly; an `approximate` quantile then is the spans' exact one (the sketch
        # puts a negative latency at 0), so the quantiles are compared once it is built.
        assert _answers(again, spans)["exact"] == before["exact"]
        again.catch_up()
        assert _answers(again, spans) == before
    finally:
        again.close()


def test_a_failed_commit_puts_the_summaries_out_of_use(
    lagging: tuple[DuckDBEventStore, list[Span]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """DuckDB failed the commit after writing it: the batch is stored but never queued."""
    store, spans = lagging
    real = duckdb_faults.commit

    def commit_then_fail(con: duckdb.DuckDBPyConnection) -> None:
        real(con)
        raise duckdb.IOException("could not write the checkpoint after the commit")

    monkeypatch.setattr(duckdb_faults, "commit", commit_then_fail)
    late = [
        replace(s, span_id=SpanId(f"{s.span_id}-f"), start_time=s.start_time + timedelta(days=1))
        for s in spans[:300]
    ]
    with pytest.raises(Unavailable):
        store.append_spans(late)
    monkeypatch.undo()
    assert store.sketch_guard.spoiled
    _answers(store, spans + late)


def test_queries_answer_from_the_spans_until_the_summaries_are_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, held: None
) -> None:
    """The build runs behind the open; appends go on and are added once it is done."""
    spans = _spans(2400, seed=23)
    store = DuckDBEventStore(tmp_path / "events.duckdb")
    for i in range(0, 1200, 300):
        store.append_spans(spans[i : i + 300])
    store.close()
    release = threading.Event()
    real = summaries.build

    def slow_build(con: duckdb.DuckDBPyConnection, *args: Any, **kwargs: Any) -> None:
        assert release.wait(30)
        real(con, *args, **kwargs)

    monkeypatch.setattr(summaries, "build", slow_build)
    store = DuckDBEventStore(tmp_path / "events.duckdb")
    try:
        for i in range(1200, len(spans), 300):  # not held back by the build
            store.append_spans(spans[i : i + 300])
        assert not store.sketch_guard.usable
        during = _answers(store, spans)
        release.set()
        store.catch_up()
        assert store.sketch_guard.usable
        after = _answers(store, spans)
        assert after["exact"] == during["exact"]
        for (b, n, (v,)), (b2, n2, (exact,)) in zip(
            after["quantiles"], during["quantiles"], strict=True
        ):  # the sketch's within 1 % of the spans' exact quantile
            assert (b, n) == (b2, n2)
            assert abs(v - exact) <= 0.01 * exact
    finally:
        release.set()
        store.close()


def test_the_upkeep_adds_the_backlog_by_itself_many_batches_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(summary_upkeep, "PAUSE_S", 0.2)
    monkeypatch.setattr(summary_upkeep, "MAX_LAG_S", 1e9)
    spans = _spans(3000, seed=24)
    store = DuckDBEventStore(tmp_path / "events.duckdb")
    try:
        assert store.summary_upkeep.wait_built()
        rounds = store.summary_upkeep.applied_rounds
        for i in range(0, len(spans), 150):  # 20 commits in quick succession
            store.append_spans(spans[i : i + 150])
        clock, pause = SystemClock(), threading.Event()
        deadline = clock.monotonic_s() + 30
        while store.summary_upkeep.backlog.spans and clock.monotonic_s() < deadline:
            pause.wait(0.05)
        assert store.summary_upkeep.backlog.spans == 0
        assert 1 <= store.summary_upkeep.applied_rounds - rounds < 20  # coalesced
        _answers(store, spans)
    finally:
        store.close()


def test_a_full_backlog_is_added_without_waiting_for_a_pause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, held: None
) -> None:
    monkeypatch.setattr(summary_upkeep, "MAX_PENDING_SPANS", 500)
    spans = _spans(3000, seed=25)
    store = DuckDBEventStore(tmp_path / "events.duckdb")
    try:
        assert store.summary_upkeep.wait_built()
        for i in range(0, len(spans), 300):
            store.append_spans(spans[i : i + 300])
        event = threading.Event()
        for _ in range(600):  # the thread adds it at once; ingest goes on meanwhile
            if store.summary_upkeep.backlog.spans < 500:
                break
            event.wait(0.05)
        assert store.summary_upkeep.backlog.spans < 500
        _answers(store, spans)
    finally:
        with contextlib.suppress(Unavailable):
            store.close()


_NO_PANDAS = """
import sys, tempfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from llmpulse.store.events.codec import skip_pandas_probe, spans_to_arrow
skip_pandas_probe()  # as the server does
from llmpulse.domain.metrics import parse_metric
from llmpulse.store.api import AttrEquals, SpanFilter, SpanQuery, TimeRange
from llmpulse.store.metric_api import MetricQuery
from llmpulse.store.events import summary_upkeep
from llmpulse.store.events.duckdb import DuckDBEventStore
sys.path.insert(0, sys.argv[1])
from store_factories import T0, make_span
summary_upkeep.PAUSE_S = summary_upkeep.MAX_LAG_S = 1e9
store = DuckDBEventStore(Path(tempfile.mkdtemp()) / "e.duckdb", search_index=False)
store.summary_upkeep.wait_built()
batch = spans_to_arrow([replace(make_span(i), metadata={"region": "eu"}) for i in range(9)])
store.append_columns(batch)
window = TimeRange(T0 - timedelta(days=1), T0 + timedelta(days=1))
count = parse_metric("count", "n")
region = SpanFilter(attributes=(AttrEquals("metadata.region", "eu"),))
p95 = parse_metric("latency_ms:p95", "p95")
assert store.metric(MetricQuery("default", (count,), window)).rows[0].n == 9
assert store.metric(MetricQuery("default", (count,), window, where=region)).rows[0].n == 9
store.metric(MetricQuery("default", (p95,), window, approximate=True))
store.trace_totals([batch.column("trace_id")[0].as_py()])
store.list_spans(SpanQuery("default"))
store.catch_up()
store.close()
print("pandas" in sys.modules)
"""


def test_the_summaries_and_their_backlog_never_import_pandas() -> None:
    """The server keeps pandas out (`codec.skip_pandas_probe`): queueing, reading and adding
    the backlog use DuckDB and plain Arrow arrays, not pyarrow's filters or `pa.table`."""
    here = str(Path(__file__).resolve().parent)
    out = subprocess.run(
        [sys.executable, "-c", _NO_PANDAS, here], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False", out.stderr
