"""The span sketch read from its numpy copy (ADR 0040) answers exactly as its SQL statement.

`DuckDBEventStore.metric` answers span-sketch plans from `sketch_copy.SketchCopy` and the
spans of the edge slots; these tests compare that answer with the frame of `sketch.plan`'s
statement on the same store, over windows whose edges fall anywhere, in buckets or not, for
counts and approximate quantiles, and check that a commit or a delete between two questions
moves the copy with the sketch (exact counts, quantiles within 1 % of numpy's).
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from store_factories import stored_in_commits, timed_span

from llmpulse.domain.ids import ProjectName, SpanId
from llmpulse.domain.metrics import parse_metric
from llmpulse.domain.spans import Span
from llmpulse.store.api import SpanFilter, SpanQuery, TimeRange
from llmpulse.store.events import newest, sketch, sketch_copy
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.events.summary_upkeep import query_with
from llmpulse.store.metric_api import MetricFrame, MetricQuery

P = ProjectName("copied")
T0 = datetime(2026, 11, 2, 5, 4, 33, tzinfo=UTC)  # not on a slot edge
COUNT, P50, P90, P99 = (
    parse_metric(m, "m") for m in ("count", "latency_ms:p50", "latency_ms:p90", "latency_ms:p99")
)


def _spans(n: int, seed: int, offset: int = 0) -> list[Span]:
    """Spans over ~6 hours, a third roots, lognormal latencies with zeros, another project."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        start = T0 + timedelta(seconds=rng.uniform(0, 6 * 3600))
        latency = 0.0 if i % 89 == 0 else rng.lognormvariate(5, 1.5)
        project = P if i % 7 else ProjectName("neighbour")
        out.append(timed_span(i + offset, project, start, latency, root=i % 3 == 0))
    return out


@pytest.fixture
def store() -> DuckDBEventStore:
    return _caught_up(_spans(2400, seed=3))


def _caught_up(spans: list[Span]) -> DuckDBEventStore:
    """A store holding ``spans`` in commits of 300, none of them waiting in the summaries'
    backlog (ADR 0039)."""
    s: DuckDBEventStore = stored_in_commits(spans, 300)
    return s


def _by_statement(store: DuckDBEventStore, q: MetricQuery) -> MetricFrame:
    """The frame of `sketch.plan`'s statement (the answer before the copy), once the
    summaries' backlog is applied (the statement reads the sketch table alone)."""
    store.catch_up()
    p = sketch.plan(q, store.pair_keys.counted)
    assert p is not None
    return sketch.frame(q, p, store._query(p.sql, p.params))


def _queries(seed: int) -> list[MetricQuery]:
    rng = random.Random(seed)
    out = []
    for _ in range(30):
        lo = T0 + timedelta(seconds=rng.uniform(-900, 5 * 3600))
        hi = lo + timedelta(seconds=rng.choice((30, 400, rng.uniform(1, 4 * 3600))))
        time = rng.choice((TimeRange(lo, hi), TimeRange(lo, None), TimeRange(None, hi)))
        bucket = rng.choice((None, None, timedelta(minutes=10), timedelta(hours=1)))
        metrics = rng.choice(((COUNT,), (P50, P99), (COUNT, P90), (P99,)))
        root = rng.random() < 0.5
        out.append(
            MetricQuery(
                P, metrics, time, bucket=bucket, where=SpanFilter(root_only=root), approximate=True
            )
        )
    out.append(MetricQuery(P, (COUNT,), TimeRange()))  # everything
    on_edges = TimeRange(sketch.slot_start(sketch.slot_of(T0) + 2).replace(tzinfo=UTC),
                         sketch.slot_start(sketch.slot_of(T0) + 9).replace(tzinfo=UTC))  # fmt: skip
    out.append(MetricQuery(P, (P50, COUNT), on_edges, approximate=True))  # no edge slot
    out.append(MetricQuery(P, (P50,), TimeRange(T0 + timedelta(days=3), None), approximate=True))
    return out


def test_the_copy_answers_as_the_sketch_statement(store: DuckDBEventStore) -> None:
    for q in _queries(11):
        assert sketch_copy.answers(q), q
        assert store.metric(q) == _by_statement(store, q), q


def test_the_copy_and_a_backlog_answer_as_the_statement_with_it(held: None) -> None:
    """ADR 0064: with spans waiting in the summaries' backlog (some in slots the sketch
    holds, some in new ones, another project's too), the copy's whole slots plus the
    backlog's spans answer every query as `sketch.plan`'s statement with the backlog."""
    s = _caught_up(_spans(2400, seed=3))
    try:
        later = _spans(1500, seed=8, offset=20_000)
        later = [replace(x, start_time=x.start_time + timedelta(hours=2)) for x in later]
        for i in range(0, len(later), 500):
            s.append_spans(later[i : i + 500])
        pending = s.summary_upkeep.pending()
        assert pending is not None
        assert pending.num_rows == len(later)
        summarized = s.metrics_summarized

        def statement(*args: object) -> None:
            raise AssertionError("answered by the statement, not the copy")

        for q in _queries(12):
            p = sketch.plan(q, s.pair_keys.counted, pending=True)
            assert p is not None
            rows = s._read(lambda cur, p=p: query_with(cur, pending, p.sql, p.params))
            want = sketch.frame(q, p, rows)
            with pytest.MonkeyPatch.context() as m:
                m.setattr(s, "_sketch_rows", statement)
                assert s.metric(q) == want, q
        assert s.metrics_summarized == summarized + len(_queries(12))
        assert s.summary_upkeep.pending() is not None  # ... with the backlog still there
    finally:
        s.close()


def test_pair_sketch_plans_are_not_the_copys() -> None:
    from llmpulse.store.api import AttrEquals

    q = MetricQuery(
        P,
        (COUNT,),
        TimeRange(T0, T0 + timedelta(hours=1)),
        where=SpanFilter(attributes=(AttrEquals("metadata.region", "eu"),)),
    )
    assert not sketch_copy.answers(q)


def _exact(spans: list[Span], lo: datetime, hi: datetime) -> np.ndarray:
    return np.array(
        [
            s.latency_ms
            for s in spans
            if s.project == P and lo <= s.start_time < hi and s.parent_span_id is None
        ]
    )


def test_a_commit_and_a_delete_between_two_questions_move_the_copy(
    store: DuckDBEventStore,
) -> None:
    spans = _spans(2400, seed=3)
    lo, hi = T0 + timedelta(minutes=13, seconds=7), T0 + timedelta(hours=4, seconds=11)
    q = MetricQuery(
        P, (COUNT, P50, P99), TimeRange(lo, hi), where=SpanFilter(root_only=True), approximate=True
    )

    def check(stored: list[Span]) -> None:
        (row,) = store.metric(q).rows
        values = _exact(stored, lo, hi)
        assert row.n == len(values)
        for got, qv in zip(row.values[1:], (0.5, 0.99), strict=True):
            want = float(np.quantile(values, qv))
            assert got is not None
            assert abs(got - want) <= sketch.ALPHA * want + 1e-9

    check(spans)
    before = store.sketch_guard.version, store.sketch_guard.sketch_version
    more = _spans(900, seed=4, offset=10_000)  # slower spans in the same hours
    more = [replace(s, end_time=s.end_time + timedelta(milliseconds=700)) for s in more]
    store.append_spans(more)
    assert store.sketch_guard.version != before[0]
    assert store.sketch_guard.sketch_version == before[1]  # a commit leaves the sketch (0064)
    check(spans + more)  # the backlog may still hold them: the copy adds it
    store.catch_up()
    check(spans + more)  # the copy, taken again
    cut = T0 + timedelta(hours=2)
    store.delete_spans(P, before=cut)
    kept = [s for s in spans + more if s.project != P or s.start_time >= cut]
    check(kept)
    assert store.metric(q) == _by_statement(store, q)


def test_a_sketch_that_lags_is_never_read_through_its_copy(store: DuckDBEventStore) -> None:
    spans = _spans(2400, seed=3)
    lo, hi = T0 + timedelta(minutes=3), T0 + timedelta(hours=5)
    q = MetricQuery(P, (COUNT,), TimeRange(lo, hi), where=SpanFilter(root_only=True))
    expected = len(_exact(spans, lo, hi))
    assert [r.n for r in store.metric(q).rows] == [expected]  # the copy is taken now
    with store.sketch_guard.changing():
        store._con.execute(f"UPDATE {sketch.TABLE} SET n = n + 1000")
        assert [r.n for r in store.metric(q).rows] == [expected]  # from the spans
        page_q = SpanQuery(P, TimeRange(None, T0 + timedelta(hours=3)), limit=5)
        expected_ids = [s.span_id for s in store.list_spans(page_q).items]
    # The change ended with every sketch row 1000 too high: the copy was taken again (the
    # guard says the sketch settled, not that it is right), so it reads what the statement
    # reads.
    assert store.metric(q) == _by_statement(store, q)
    assert [r.n for r in store.metric(q).rows] != [expected]
    assert len(expected_ids) == 5


def test_newest_slot_equals_the_bound_statement(store: DuckDBEventStore) -> None:
    rng = random.Random(2)
    copy = sketch_copy.SketchCopy(lambda: store.sketch_guard.sketch_version)
    for _ in range(40):
        end = T0 + timedelta(seconds=rng.uniform(-900, 7 * 3600))
        q = SpanQuery(
            P,
            TimeRange(None, None if rng.random() < 0.2 else end),
            limit=rng.choice((1, 10, 100, 500, 5000)),
        )
        b = newest.bound_sql(q, store.pair_keys.counted)
        assert b is not None
        rows = store._query(*b)
        want = int(rows[0][0]) if rows else None
        assert copy.newest_slot(store._numpy, P, q.time.end, q.limit + 1) == want, q


@pytest.mark.parametrize("seed", [1, 2])
def test_bin_of_equals_the_bin_statement(seed: int) -> None:
    rng = random.Random(seed)
    g = sketch.GAMMA
    values = [0.0, -3.0, 1e-9, 1.0, 5e-324, 1e12]
    values += [g**i for i in range(-50, 800, 7)]  # bin edges, and either side of them
    values += [math.nextafter(g**i, 0.0) for i in range(-50, 800, 7)]
    values += [math.nextafter(g**i, math.inf) for i in range(-50, 800, 7)]
    values += [rng.lognormvariate(5, 3) for _ in range(2000)]
    con = DuckDBEventStore(None)
    try:
        got = con._query(
            f"SELECT {sketch.BIN_SQL} FROM (SELECT unnest(?::DOUBLE[]) AS latency_ms)", [values]
        )
        want = [int(r[0]) for r in got]
        assert [sketch.bin_of(v) for v in values] == want
        assert sketch.bins_of(np.array(values, dtype=np.float64)).tolist() == want
    finally:
        con.close()


@pytest.mark.parametrize("seed", [3, 4])
def test_bins_of_equals_bin_of_at_and_beside_every_edge(seed: int) -> None:
    # numpy's log is not libm's: on an edge, or an ulp either side of it, the ceiling of the
    # quotient is where the two could differ
    rng = np.random.default_rng(seed)
    edges = sketch.GAMMA ** np.arange(-400, 2200, dtype=np.float64)
    values = np.concatenate(
        [
            edges,
            np.nextafter(edges, 0.0),
            np.nextafter(edges, np.inf),
            rng.lognormal(4, 4, 50_000),
            [0.0, -1.0, np.nan, 5e-324, 1e300],
        ]
    )
    assert sketch.bins_of(values).tolist() == [sketch.bin_of(v) for v in values.tolist()]
    assert sketch.bins_of(np.zeros(0)).tolist() == []


@pytest.mark.parametrize("seed", range(4))
def test_distinct_bins_equal_numpy_unique(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for values in (
        rng.integers(-3000, 3000, 5000),  # latency bins: a narrow range, negatives too
        rng.integers(-(2**40), 2**40, 300),  # a range too wide to count densely
        np.array([7, 7, 7]),
        np.zeros(0, dtype=np.int64),
    ):
        values = values.astype(np.int64)
        bins, index = sketch_copy._distinct(values)
        want_bins, want_index = np.unique(values, return_inverse=True)
        assert bins.tolist() == want_bins.tolist()
        assert index.tolist() == want_index.reshape(-1).tolist()
        assert bins[index].tolist() == values.tolist()


def test_the_copy_is_taken_again_after_the_summaries_take_in_a_load() -> None:
    """The first query after a load finds its copy current: the summaries' thread took it
    again after adding the load (ADR 0043), not the query."""
    s = DuckDBEventStore(None)
    try:
        s.append_spans(_spans(600, seed=5))
        s.catch_up()
        q = MetricQuery(P, (COUNT,), TimeRange(T0, T0 + timedelta(hours=7)))
        s.metric(q)  # a query asks for the project: its copy is held
        copy = s._sketch_copy
        assert copy.is_current(P)
        taken = copy._projects[P]
        s.append_spans(_spans(600, seed=6, offset=10_000))
        assert copy.is_current(P)  # a commit only adds to the backlog (ADR 0064)

        def taken_again() -> bool:
            return copy._projects[P] is not taken and copy.is_current(P)

        deadline = time.monotonic() + 10
        while not (s.summary_upkeep.caught_up and taken_again()) and time.monotonic() < deadline:
            time.sleep(0.02)  # the summaries' thread adds the batch after its pause
        assert taken_again()
        assert s.summary_upkeep.caught_up
        spans = [x for x in _spans(600, 5) + _spans(600, 6, 10_000) if x.project == P]
        assert [r.n for r in s.metric(q).rows] == [len(spans)]
    finally:
        s.close()


def test_a_newest_page_is_exact_when_the_counts_are_too_high(store: DuckDBEventStore) -> None:
    """A bounded newest-first page checks itself (ADR 0044): with every sketch row counting
    1000 spans too many, the bound falls in the last whole slot before the end, the bounded
    page comes back short, and it is asked again without the bound."""
    spans = [s for s in _spans(2400, seed=3) if s.project == P]
    with store.sketch_guard.changing():  # the copy is taken again after this change
        store._con.execute(f"UPDATE {sketch.TABLE} SET n = n + 1000")
    rng = random.Random(9)
    for _ in range(12):
        end = T0 + timedelta(seconds=rng.uniform(1800, 6 * 3600))
        limit = rng.choice((5, 50, 100))
        page = store.list_spans(SpanQuery(P, TimeRange(None, end), limit=limit))
        before = sorted(
            (s for s in spans if s.start_time < end),
            key=lambda s: (s.start_time, s.span_id),
            reverse=True,
        )
        assert [s.span_id for s in page.items] == [s.span_id for s in before[:limit]]


def test_a_copy_whose_sketch_moved_while_it_was_read_is_not_kept(store: DuckDBEventStore) -> None:
    """A load that a change overlapped may hold the sketch after the change: it must not be
    kept under the version it started at, where a read pinned at that version would take it
    (ADR 0050); a load in a snapshot pinned at a version is kept under it, and never
    replaces a newer copy; one pinned at a version but read without a snapshot is kept only
    if the sketch is still there (a round's kept moment reads that version, ADR 0071)."""
    version = [5]
    copy = sketch_copy.SketchCopy(lambda: version[0])
    loads: list[int] = []
    moves = [False]

    def query(sql: str, params: Any) -> dict[str, Any]:
        out = store._numpy(sql, params)
        if sketch.TABLE in sql:  # the copy's load (not the edge slots' spans)
            loads.append(version[0])
            if moves[0]:
                version[0] += 1  # a change began while the copy was read
        return out

    q = MetricQuery(P, (COUNT,), TimeRange(T0, T0 + timedelta(hours=3)))
    p = sketch.shape(q)
    assert p is not None
    moves[0] = True
    copy.newest_slot(query, P, None, 10)  # loaded at 5, the guard at 6 after it: not kept
    moves[0] = False
    copy.frame(query, q, p, 5, snapshot=True)  # a snapshot pinned at 5 loads a copy, kept at 5
    copy.frame(query, q, p, 5)  # ... and a read pinned at 5 finds it
    assert loads == [5, 6]
    moves[0] = True
    copy.frame(query, q, p)  # loaded at 6, the guard at 7 after it: not kept
    moves[0] = False
    copy.frame(query, q, p, 5)  # the copy at 5 is still held
    assert loads == [5, 6, 6]
    version[0] = 9
    copy.frame(query, q, p)  # kept at 9
    copy.frame(query, q, p, 8, snapshot=True)  # an older pinned load does not replace it
    copy.frame(query, q, p)
    assert loads == [5, 6, 6, 9, 9]
    copy._projects.clear()
    copy.frame(query, q, p, 8)  # pinned at 8 without a snapshot, the sketch at 9: not kept
    copy.frame(query, q, p, 8)
    assert loads == [5, 6, 6, 9, 9, 9, 9]
    copy.frame(query, q, p, 9)  # pinned at 9 without a snapshot, the sketch still at 9: kept
    copy.frame(query, q, p)
    assert loads == [5, 6, 6, 9, 9, 9, 9, 9]


def test_a_newest_bound_counts_the_held_copy_after_the_sketch_moved(held: None) -> None:
    """ADR 0062: a page asked while a load waits in the summaries' backlog bounds itself with
    the copy it holds and the backlog's slots, and takes no copy on the query path. The
    copy and the backlog together count every span (the bound equals the statement's once
    the sketch took the backlog in); a copy the sketch moved past without a backlog only
    misses spans, so its bound is never later than the statement's. Pages stay exact."""
    spans = _spans(1200, seed=5)
    s = _caught_up(spans)
    try:
        rng = random.Random(7)
        ends = [T0 + timedelta(seconds=rng.uniform(1800, 9 * 3600)) for _ in range(8)]
        s.metric(MetricQuery(P, (COUNT,), TimeRange(T0, ends[0])))  # takes a current copy
        copy = s._sketch_copy
        assert copy.is_current(P)
        taken = copy._projects[P]
        later = [replace(x, start_time=x.start_time + timedelta(hours=3)) for x in _spans(900, 6)]
        later = [replace(x, span_id=SpanId(f"{i + 50_000:016x}")) for i, x in enumerate(later)]
        s.append_spans(later)
        assert not s.summary_upkeep.caught_up
        assert copy.is_current(P)  # a commit only adds to the backlog (ADR 0064)
        stored = [x for x in spans + later if x.project == P]
        with_backlog = {}
        for end in ends:
            q = SpanQuery(P, TimeRange(None, end), limit=100)
            page = s.list_spans(q)
            want = sorted(
                (x for x in stored if x.start_time < end),
                key=lambda x: (x.start_time, x.span_id),
                reverse=True,
            )[:100]
            assert [x.span_id for x in page.items] == [x.span_id for x in want]
            backlog = sketch_copy.backlog_slots(s.summary_upkeep.pending(), P)
            with_backlog[end] = copy.newest_slot(s._numpy, P, end, 101, backlog)
        assert copy._projects[P] is taken  # never taken again on the query path
        s.catch_up()  # the sketch holds every span now; the copy is still the old one
        assert copy._projects[P] is taken
        for end in ends:
            q = SpanQuery(P, TimeRange(None, end), limit=100)
            bound = newest.bound_sql(q, s.pair_keys.counted)
            assert bound is not None
            rows = s._query(*bound)
            want_slot = int(rows[0][0]) if rows else None
            assert with_backlog[end] == want_slot, end
            stale = copy.newest_slot(s._numpy, P, end, 101)
            assert stale is None or (want_slot is not None and stale <= want_slot), end
    finally:
        s.close()


def test_a_count_asked_while_a_load_waits_has_the_copy_kept_behind_ingest(held: None) -> None:
    """ADR 0062 and 0064: a count asked while spans wait in the backlog is the copy's whole
    slots and the backlog's spans; it takes the copy once, and from then on the summaries'
    thread takes it again after adding a backlog, so the first newest page after the load
    takes none."""
    s = DuckDBEventStore(None)
    try:
        assert s.summary_upkeep.wait_built()  # the load comes after the build
        spans = _spans(600, seed=5)
        s.append_spans(spans)
        copy = s._sketch_copy
        q = MetricQuery(P, (COUNT,), TimeRange(T0, T0 + timedelta(hours=7)))
        assert s.summary_upkeep.pending() is not None
        summarized = s.metrics_summarized
        assert [r.n for r in s.metric(q).rows] == [sum(x.project == P for x in spans)]
        assert s.metrics_summarized == summarized + 1  # not the plain query over the spans
        assert copy.is_current(P)  # the sketch before the load: nothing of it is in it
        assert s.summary_upkeep.catch_up() > 0
        assert not copy.is_current(P)
        s._after_summaries()  # what the summaries' thread runs after adding the backlog
        assert copy.is_current(P)
        taken = copy._projects[P]
        page = s.list_spans(SpanQuery(P, TimeRange(None, T0 + timedelta(hours=3)), limit=20))
        assert len(page.items) == 20
        assert copy._projects[P] is taken
    finally:
        s.close()
