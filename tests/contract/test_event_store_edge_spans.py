"""The sketch's edge slots counted from the spans kept in numpy (ADR 0066), not by a statement.

`DuckDBEventStore.metric` answers span-sketch plans from the sketch's copy and, where a
window starts or ends inside a slot, from `edge_spans.EdgeSpans`. These tests fail if that
answer differs from `sketch.plan`'s statement on the same store, or if it came from the edge
statement; with spans in the backlog, after a delete, after a compaction, and with the kept
spans turned off (the statement answers, the same).
"""

from __future__ import annotations

import random
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from store_factories import sketch_statement, stored_in_commits, timed_span

from llmpulse.domain.errors import InvalidInput
from llmpulse.domain.ids import ProjectName
from llmpulse.domain.metrics import parse_metric
from llmpulse.domain.spans import Span
from llmpulse.store.api import SpanFilter, TimeRange
from llmpulse.store.events import edge_spans, sketch, sketch_copy, trace_sums
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.metric_api import MetricQuery

P = ProjectName("edges")
T0 = datetime(2026, 11, 2, 5, 4, 33, 250_001, tzinfo=UTC)  # not on a slot edge
COUNT, P50, P99 = (parse_metric(m, "m") for m in ("count", "latency_ms:p50", "latency_ms:p99"))


def _spans(n: int, seed: int, offset: int = 0) -> list[Span]:
    """Spans over ~5 hours, a third roots, lognormal latencies with zeros, another project;
    a few share their start to the microsecond with a window edge below."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        start = T0 + timedelta(microseconds=rng.randrange(5 * 3600 * 10**6))
        if i % 97 == 0:
            start = T0 + timedelta(minutes=40)  # on an edge that `_queries` asks
        latency = 0.0 if i % 89 == 0 else rng.lognormvariate(5, 1.5)
        project = P if i % 7 else ProjectName("neighbour")
        out.append(timed_span(i + offset, project, start, latency, root=i % 3 == 0))
    return out


def _store(path: Path | None = None) -> DuckDBEventStore:
    s: DuckDBEventStore = stored_in_commits(_spans(2100, seed=5), 300, path)
    return s


def _queries(seed: int) -> list[MetricQuery]:
    rng = random.Random(seed)
    out = []
    for _ in range(30):
        lo = T0 + timedelta(microseconds=rng.randrange(-900 * 10**6, 4 * 3600 * 10**6))
        hi = lo + timedelta(seconds=rng.choice((30, 400, rng.uniform(1, 4 * 3600))))
        time = rng.choice((TimeRange(lo, hi), TimeRange(lo, None), TimeRange(None, hi)))
        bucket = rng.choice((None, None, timedelta(minutes=10), timedelta(hours=1)))
        metrics = rng.choice(((COUNT,), (P50, P99), (COUNT, P99)))
        root = rng.random() < 0.5
        out.append(
            MetricQuery(
                P, metrics, time, bucket=bucket, where=SpanFilter(root_only=root), approximate=True
            )
        )
    edge = T0 + timedelta(minutes=40)  # spans start there: the window's first microsecond
    out.append(MetricQuery(P, (COUNT, P50), TimeRange(edge, edge + timedelta(hours=1))))
    out.append(MetricQuery(P, (COUNT,), TimeRange(edge - timedelta(hours=1), edge)))
    inside = sketch.slot_start(sketch.slot_of(edge)).replace(tzinfo=UTC)
    out.append(MetricQuery(P, (COUNT, P99), TimeRange(inside, edge), approximate=True))
    return [replace(q, approximate=True) for q in out]


def _answers_without_the_edge_statement(store: DuckDBEventStore, seed: int) -> None:
    def statement(*args: object, **kwargs: object) -> None:
        raise AssertionError("the edge slots were read by a statement")

    summarized = store.metrics_summarized
    qs = _queries(seed)
    for q in qs:
        want = sketch_statement(store, q)
        with pytest.MonkeyPatch.context() as m:
            m.setattr(sketch_copy, "_edge_spans", statement)
            assert store.metric(q) == want, q
    assert store.metrics_summarized == summarized + len(qs)  # the sketch answered every one


def test_the_kept_spans_answer_every_edge_as_the_statement() -> None:
    s = _store()
    try:
        state = s.edge_spans.state
        assert state is not None
        assert state.spans == 2100
        assert sorted(state.projects) == ["edges", "neighbour"]
        _answers_without_the_edge_statement(s, seed=1)
    finally:
        s.close()


def test_spans_in_the_backlog_count_at_the_edges_too(held: None) -> None:
    """Spans committed but not yet in the sketch (ADR 0064) lie in edge slots as well: the
    answer adds them from the backlog, where the statement read them from the table."""
    s = _store()
    try:
        later = _spans(900, seed=6, offset=50_000)
        s.append_spans(later[:450])
        s.append_spans(later[450:])
        pending = s.summary_upkeep.pending()
        assert pending is not None
        assert pending.num_rows == 900
        assert s.edge_spans.state is not None
        assert s.edge_spans.state.spans == 2100  # the sketch's spans, not yet the backlog's
        _answers_without_the_edge_statement(s, seed=2)
        s.catch_up()
        assert s.summary_upkeep.pending() is None
        assert s.edge_spans.state is not None
        assert s.edge_spans.state.spans == 3000
        _answers_without_the_edge_statement(s, seed=3)
    finally:
        s.close()


def test_a_delete_reads_the_projects_spans_again() -> None:
    s = _store()
    try:
        cut = T0 + timedelta(hours=2, seconds=7)
        gone = s.delete_spans(P, before=cut)
        assert gone > 0
        state = s.edge_spans.state
        assert state is not None
        assert state.spans == 2100 - gone
        kept = state.projects[P]
        assert (
            sum(len(c) for c in kept)
            == s._query("SELECT count(*) FROM spans WHERE project = ?", [P])[0][0]
        )
        _answers_without_the_edge_statement(s, seed=4)
    finally:
        s.close()


def test_a_compaction_carries_the_kept_spans_over(tmp_path: Path) -> None:
    s = _store(tmp_path / "events.duckdb")
    try:
        before = s.edge_spans.state
        s.compact()
        assert s.sketch_guard.usable
        assert s.edge_spans.state is before
        _answers_without_the_edge_statement(s, seed=5)
    finally:
        s.close()


def test_over_the_limit_no_spans_are_kept_and_the_statement_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(edge_spans, "MAX_SPANS", 2000)
    s = _store()
    try:
        assert s.edge_spans.state is None
        used = []
        real = sketch_copy._edge_spans

        def statement(*args: object, **kwargs: object) -> object:
            used.append(1)
            return real(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(sketch_copy, "_edge_spans", statement)
        for q in _queries(7):
            assert s.metric(q) == sketch_statement(s, q), q
        assert used
    finally:
        s.close()


@pytest.mark.parametrize("seed", range(3))
def test_appended_chunks_merge_into_sorted_chunks_of_every_span(seed: int) -> None:
    """Batches in any order, appended one by one: the chunks hold every span once, each
    sorted by start, O(log n) of them, and each chunk's root spans again on their own."""
    rng = np.random.default_rng(seed)
    chunks: tuple[edge_spans.Chunk, ...] = ()
    every = []
    for _ in range(200):
        n = int(rng.integers(1, 400))
        start = rng.integers(0, 10**9, n)
        bins = rng.integers(-700, 2000, n)
        bins[rng.random(n) < 0.05] = sketch.ZERO_BIN
        root = rng.random(n) < 0.3
        every.append((start, bins, root))
        chunks = edge_spans._appended(chunks, edge_spans.Chunk.of(start, bins, root))
    assert len(chunks) <= 2 * int(np.log2(sum(len(c) for c in chunks))) + 1
    for c in chunks:
        assert bool(np.all(c.start[1:] >= c.start[:-1]))
        assert c.bin.dtype == np.int16
        assert c.root_start.tolist() == c.start[c.root].tolist()
        assert c.root_bin.tolist() == c.bin[c.root].tolist()
    got = sorted(
        (int(s), int(b), bool(r))
        for c in chunks
        for s, b, r in zip(c.start, edge_spans._wide(c.bin), c.root, strict=True)
    )
    want = sorted(
        (int(s), int(b), bool(r))
        for st, bi, ro in every
        for s, b, r in zip(st, bi, ro, strict=True)
    )
    assert got == want


def test_bins_beyond_int16_are_kept_as_int32() -> None:
    far = edge_spans.Chunk.of(
        np.array([3, 1, 2]), np.array([40_000, sketch.ZERO_BIN, -5]), np.array([True, False, True])
    )
    assert far.bin.dtype == np.int32
    assert edge_spans._wide(far.bin).tolist() == [sketch.ZERO_BIN, -5, 40_000]
    assert far.start.tolist() == [1, 2, 3]
    near = edge_spans.Chunk.of(
        np.array([1, 2, 4]), np.array([-3, 7, sketch.ZERO_BIN]), np.array([True, True, True])
    )
    assert near.bin.dtype == np.int16
    for merged in (near.merged(far), far.merged(near)):  # int16 into int32, and the reverse
        assert merged.bin.dtype == np.int32
        assert merged.start.tolist() == [1, 1, 2, 2, 3, 4]
        assert merged.root_start.tolist() == [1, 2, 2, 3, 4]
        assert sorted(edge_spans._wide(merged.root_bin).tolist()) == sorted(
            [-5, -3, 7, 40_000, sketch.ZERO_BIN]
        )
        assert sorted(edge_spans._wide(merged.bin).tolist()) == sorted(
            [-3, 7, sketch.ZERO_BIN, sketch.ZERO_BIN, -5, 40_000]
        )


def test_in_memory_answers_are_the_statements_and_read_nothing(held: None) -> None:
    """`metric_in_memory` (asked on the server's event loop) answers as the statement once
    the copy is held, with or without a backlog, and never reads the store, also while a
    commit writes its spans; with no copy held, or a commit's queueing or a change of the
    summaries in flight, it does not answer."""
    s = _store()
    try:
        q0 = replace(_queries(8)[0], time=TimeRange())  # whole slots only
        assert s.metric_in_memory(q0) is None  # no copy held yet
        s.metric(q0)  # takes the copy

        def no_reads(*args: object, **kwargs: object) -> None:
            raise AssertionError("read the store")

        def check(seed: int) -> None:
            for q in _queries(seed):
                want = sketch_statement(s, q)
                with pytest.MonkeyPatch.context() as m:
                    m.setattr(s, "_read", no_reads)
                    m.setattr(s, "_numpy", no_reads)
                    assert s.metric_in_memory(q) == want, q

        check(8)
        s.append_spans(_spans(600, seed=9, offset=70_000))
        assert s.summary_upkeep.pending() is not None
        check(9)
        want = sketch_statement(s, q0)
        with s.sketch_guard.changing(summaries=False):  # a commit writing its spans
            assert s.metric_in_memory(q0) == want  # reads none of them (ADR 0068)
        guard = s.sketch_guard
        with guard.changing(summaries=False), guard.queueing():  # ... queueing them
            assert s.metric_in_memory(q0) is None
        with guard.changing():  # a change of the summaries
            assert s.metric_in_memory(q0) is None
        s.metric(q0)  # the copy of the sketch's new version
        refused = 0
        for bad in (replace(q0, max_groups=0), replace(q0, slide=2)):  # `metric` refuses them
            with pytest.raises(InvalidInput):
                s.metric(bad)
            try:  # ... and this one never answers them (it refuses them, or leaves them)
                assert s.metric_in_memory(bad) is None
            except InvalidInput:
                refused += 1
        assert refused >= 1
    finally:
        s.close()


def test_in_memory_answers_do_not_wait_for_the_traces_totals_statements(held: None) -> None:
    """A round of the summaries' upkeep runs the traces' totals' statements before its
    change of the summaries begins, uncommitted (ADR 0070): while they run, the in-memory
    answer is given, and the totals read as before the round; after it, the totals hold
    the round's spans."""
    s = _store()
    try:
        q0 = replace(_queries(8)[0], time=TimeRange())
        s.metric(q0)  # takes the copy
        staging, release = threading.Event(), threading.Event()
        real = trace_sums.merge

        def held_merge(con: Any, batch: Any) -> None:
            staging.set()
            assert release.wait(10)
            real(con, batch)

        new = _spans(300, seed=11, offset=90_000)
        s.append_spans(new)
        tid = str(new[0].trace_id)
        before = s.trace_totals([tid])[tid]  # (the backlog's spans included)
        with pytest.MonkeyPatch.context() as m:
            m.setattr(trace_sums, "merge", held_merge)
            worker = threading.Thread(target=s.summary_upkeep.catch_up)
            worker.start()
            try:
                assert staging.wait(10)
                assert s.summary_upkeep.pending() is not None  # the round has not applied
                assert s.metric_in_memory(q0) == sketch_statement(s, q0)
                assert s.trace_totals([tid])[tid] == before
            finally:
                release.set()
                worker.join(10)
        assert s.summary_upkeep.pending() is None
        assert s.sketch_guard.usable
        assert s.trace_totals([tid])[tid] == before  # now from the table alone
        stored = s._read(
            lambda cur: cur.execute(
                f"SELECT spans FROM {trace_sums.TABLE} WHERE tkey = ?",
                [int(tid, 16) & ((1 << 64) - 1)],
            ).fetchall()
        )
        assert [r[0] for r in stored] == [before.num_spans]
    finally:
        s.close()
