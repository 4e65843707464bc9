"""EventStore contract: answers through the trace slots, the pair sketch and the bounded
newest-first listing equal the plain queries' (ADRs 0035-0037).

Spans are planted over ~6 hours in several commits, with metadata regions, traces whose
spans lie hours apart (a child before its root, one far after it) and a second project; each
answer is compared with the same question answered from the planted spans in Python and
with the store's plain SQL, also after a commit or a delete between two questions, after a
reopen and a compaction, and while the summaries lag a change.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from store_factories import make_span, span_id, trace_id

from llmpulse.domain.ids import ProjectName, SpanId, TraceId
from llmpulse.domain.metrics import parse_metric
from llmpulse.domain.spans import Span
from llmpulse.store.api import AttrEquals, SpanFilter, SpanQuery, TimeRange, TraceTotals
from llmpulse.store.events import listing, newest, pair_sketch, sketch
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.events.pair_sketch import PairKeys
from llmpulse.store.metric_api import MetricQuery

P = ProjectName("summaries")
T0 = datetime(2026, 11, 1, 0, 3, 17, tzinfo=UTC)  # not on a slot edge
COUNT = parse_metric("count", "m")
REGIONS = ("eu-west", "us-east", "ap-south")


def _spans(n: int, seed: int = 3) -> list[Span]:
    """Three spans per trace: a root, a child 40 minutes before it (clock skew) and every
    fifth trace a child 5 hours after it; tokens, cost and errors vary; one span in 13 goes
    to another project, one in 7 has no region."""
    rng = random.Random(seed)
    out = []
    for t in range(n // 3):
        root_start = T0 + timedelta(seconds=rng.uniform(0, 6 * 3600))
        for j, offset in enumerate((0, -2400, 18000 if t % 5 == 0 else 30)):
            i = 3 * t + j
            start = root_start + timedelta(seconds=offset + rng.uniform(0, 2))
            region = None if i % 7 == 0 else REGIONS[rng.randrange(3)]
            out.append(
                replace(
                    make_span(i),
                    project=ProjectName("other") if i % 13 == 0 else P,
                    trace_id=trace_id(t),
                    span_id=span_id(i),
                    parent_span_id=None if j == 0 else span_id(3 * t),
                    start_time=start,
                    end_time=start + timedelta(milliseconds=rng.uniform(1, 900)),
                    total_tokens=rng.randrange(1, 500) if j == 2 else None,
                    cost_usd=rng.uniform(0, 0.01) if j == 2 else None,
                    metadata={} if region is None else {"region": region, "n": i % 4},
                )
            )
    return out


def _store(path: Path, spans: list[Span]) -> DuckDBEventStore:
    store = DuckDBEventStore(path / "events.duckdb")
    for i in range(0, len(spans), 400):  # several commits: the summaries add them up
        store.append_spans(spans[i : i + 400])
    return store


@pytest.fixture
def loaded(tmp_path: Path) -> Iterator[tuple[DuckDBEventStore, list[Span]]]:
    spans = _spans(3000)
    store = _store(tmp_path, spans)
    yield store, spans
    store.close()


def _windows(seed: int) -> list[tuple[datetime, datetime]]:
    rng = random.Random(seed)
    out = [(T0 - timedelta(hours=1), T0 + timedelta(hours=12))]
    out.append((T0 + timedelta(minutes=1), T0 + timedelta(minutes=4)))  # inside one slot
    for _ in range(10):
        a = T0 + timedelta(seconds=rng.uniform(-3600, 5 * 3600))
        out.append((a, a + timedelta(seconds=rng.uniform(1, 4 * 3600))))
    return out


def _region_count(spans: list[Span], region: str, lo: datetime, hi: datetime) -> int:
    return sum(
        1
        for s in spans
        if s.project == P and lo <= s.start_time < hi and s.metadata.get("region") == region
    )


def _count(store: DuckDBEventStore, q: MetricQuery) -> int:
    rows = store.metric(q).rows
    return rows[0].n if rows else 0


def _region_query(region: str, lo: datetime, hi: datetime) -> MetricQuery:
    where = SpanFilter(attributes=(AttrEquals("metadata.region", region),))
    return MetricQuery(P, (COUNT,), TimeRange(lo, hi), where=where)


def test_metadata_counts_from_the_pair_sketch_equal_the_stored_spans(
    loaded: tuple[DuckDBEventStore, list[Span]],
) -> None:
    store, spans = loaded
    for lo, hi in _windows(1):
        for region in (*REGIONS, "nowhere"):
            q = _region_query(region, lo, hi)
            assert sketch.plan(q, store.pair_keys.counted) is not None  # the sketch answers
            assert _count(store, q) == _region_count(spans, region, lo, hi), (region, lo, hi)
    # Hourly buckets too; a number-valued key is counted as its JSON text, as the filter is.
    lo, hi = T0 - timedelta(minutes=7), T0 + timedelta(hours=6, seconds=41)
    q = replace(_region_query("us-east", lo, hi), bucket=timedelta(hours=1))
    assert sum(r.n for r in store.metric(q).rows) == _region_count(spans, "us-east", lo, hi)
    q = MetricQuery(
        P,
        (COUNT,),
        TimeRange(lo, hi),
        where=SpanFilter(attributes=(AttrEquals("metadata.n", "2"),)),
    )
    assert sketch.plan(q, store.pair_keys.counted) is not None
    expected = sum(
        1 for s in spans if s.project == P and lo <= s.start_time < hi and s.metadata.get("n") == 2
    )
    assert _count(store, q) == expected


def test_pair_counts_follow_a_commit_and_a_delete_between_two_questions(
    loaded: tuple[DuckDBEventStore, list[Span]],
) -> None:
    store, spans = loaded
    lo, hi = T0 - timedelta(hours=1), T0 + timedelta(hours=12)
    q = _region_query("eu-west", lo, hi)
    assert _count(store, q) == _region_count(spans, "eu-west", lo, hi)
    more = [
        replace(s, span_id=SpanId(f"{s.span_id}-2"), trace_id=TraceId(f"{s.trace_id}-2"))
        for s in spans[:300]
    ]
    store.append_spans(more)
    assert _count(store, q) == _region_count(spans + more, "eu-west", lo, hi)
    cut = T0 + timedelta(hours=2, seconds=13)
    store.delete_spans(P, before=cut)
    kept = [s for s in spans + more if s.start_time >= cut or s.project != P]
    assert _count(store, q) == _region_count(kept, "eu-west", lo, hi)
    store.delete_spans(P)
    assert _count(store, q) == 0


def test_pair_counts_never_come_from_a_pair_sketch_that_lags(
    loaded: tuple[DuckDBEventStore, list[Span]],
) -> None:
    store, spans = loaded
    lo, hi = T0 - timedelta(hours=1), T0 + timedelta(hours=12)
    q = _region_query("ap-south", lo, hi)
    exact = _region_count(spans, "ap-south", lo, hi)
    store.catch_up()  # nothing waits in the backlog: the pair sketch alone answers
    with store.sketch_guard.changing():  # a change the summaries do not hold yet
        store._con.execute(f"DELETE FROM {pair_sketch.TABLE}")
        assert _count(store, q) == exact
    assert _count(store, q) != exact  # the emptied sketch answers once the change is over


def test_a_key_with_too_many_values_is_not_counted_and_still_answers(tmp_path: Path) -> None:
    spans = [
        replace(make_span(i), project=P, metadata={"request": f"r{i}", "region": "eu-west"})
        for i in range(pair_sketch.MAX_VALUES + 5)
    ]
    store = _store(tmp_path, spans[:10])
    try:
        assert store.pair_keys.counted(P, "request")
        store.append_spans(spans[10:])  # the key passes the limit in this commit ...
        store.catch_up()  # ... which the pair sketch sees once it adds the batch
        assert not store.pair_keys.counted(P, "request")
        assert store.pair_keys.counted(P, "region")
        (n,) = store._query(
            f"SELECT count(*) FROM {pair_sketch.TABLE} WHERE starts_with(pair, 'request')"
        )[0]
        assert n == 0
        window = TimeRange(T0 - timedelta(days=30), T0 + timedelta(days=30))
        q = MetricQuery(
            P,
            (COUNT,),
            window,
            where=SpanFilter(attributes=(AttrEquals("metadata.request", "r7"),)),
        )
        assert sketch.plan(q, store.pair_keys.counted) is None
        assert _count(store, q) == 1
        assert _count(
            store,
            replace(q, where=SpanFilter(attributes=(AttrEquals("metadata.region", "eu-west"),))),
        ) == len(spans)
    finally:
        store.close()
    store = DuckDBEventStore(tmp_path / "events.duckdb")  # rebuilt at open: still dropped
    try:
        store.catch_up()
        assert not store.pair_keys.counted(P, "request")
        assert store.pair_keys.counted(P, "region")
    finally:
        store.close()


def test_pair_keys_drop_a_key_once_it_passes_the_limit() -> None:
    keys = PairKeys(max_values=2)
    assert keys.observe([("p", "k\x1fa"), ("p", "k\x1fb"), ("p", "k\x1fa")]) == []
    assert keys.counted("p", "k")
    assert keys.observe([("p", "k\x1fc"), ("q", "k\x1fc")]) == [("p", "k")]
    assert not keys.counted("p", "k")
    assert keys.counted("q", "k")
    assert keys.dropped() == ["p\x1ek"]


def _totals_in_python(
    spans: list[Span], ids: list[TraceId]
) -> dict[str, tuple[int, float, int, int]]:
    out: dict[str, tuple[int, float, int, int]] = {}
    for s in spans:
        if s.trace_id in ids:
            tok, cost, err, n = out.get(s.trace_id, (0, 0.0, 0, 0))
            out[s.trace_id] = (tok + (s.total_tokens or 0), cost + (s.cost_usd or 0.0), err, n + 1)
    return out


def _as_tuples(totals: dict[str, TraceTotals]) -> dict[str, tuple[int, float, int, int]]:
    return {
        k: (v.total_tokens, round(v.cost_usd, 12), v.errors, v.num_spans) for k, v in totals.items()
    }


def test_trace_totals_through_the_trace_slots_equal_the_plain_query(
    loaded: tuple[DuckDBEventStore, list[Span]],
) -> None:
    """Spans of a trace 40 minutes before and 5 hours after its root are all summed."""
    store, spans = loaded
    rng = random.Random(4)
    all_ids = sorted({s.trace_id for s in spans})
    for _ in range(8):
        ids = [*rng.sample(all_ids, 30), TraceId("f" * 32)]  # and a trace that does not exist
        got = store.trace_totals(ids)
        plain = listing.trace_totals(store._query, ids)
        assert _as_tuples(got) == _as_tuples(plain)
        want = _totals_in_python(spans, ids)
        assert {k: (t, n) for k, (t, _, _, n) in _as_tuples(got).items()} == {
            k: (t, n) for k, (t, _, _, n) in want.items()
        }
    assert store.trace_totals([TraceId("e" * 32)]) == {}
    store.delete_spans(P, before=T0 + timedelta(hours=3))  # a delete leaves wider bounds only
    ids = all_ids[:40]
    assert _as_tuples(store.trace_totals(ids)) == _as_tuples(
        listing.trace_totals(store._query, ids)
    )
    late = [replace(spans[1], span_id=SpanId("late"), start_time=T0 + timedelta(days=3))]
    store.append_spans(late)  # a new span of an old trace, days later: counted at once
    tid = spans[1].trace_id
    assert (
        store.trace_totals([tid])[tid].num_spans
        == listing.trace_totals(store._query, [tid])[tid].num_spans
    )


def _newest_in_python(spans: list[Span], q: SpanQuery) -> list[str]:
    lo, hi = q.time.start, q.time.end
    region = q.attributes[0].value if q.attributes else None
    keep = [
        s
        for s in spans
        if s.project == q.project
        and (lo is None or s.start_time >= lo)
        and (hi is None or s.start_time < hi)
        and (region is None or s.metadata.get("region") == region)
    ]
    keep.sort(key=lambda s: (s.start_time, s.span_id), reverse=True)
    return [s.span_id for s in keep[: q.limit]]


def _queries(seed: int) -> list[SpanQuery]:
    rng = random.Random(seed)
    out = [
        SpanQuery(P),
        SpanQuery(P, limit=1000),
        SpanQuery(P, attributes=(AttrEquals("metadata.region", "us-east"),)),
    ]
    for _ in range(14):
        end = T0 + timedelta(seconds=rng.uniform(-600, 8 * 3600))
        start = None if rng.random() < 0.5 else end - timedelta(seconds=rng.uniform(1, 3 * 3600))
        attrs = () if rng.random() < 0.4 else (AttrEquals("metadata.region", rng.choice(REGIONS)),)
        out.append(
            SpanQuery(
                P, TimeRange(start, end), attributes=attrs, limit=rng.choice((1, 10, 100, 250))
            )
        )
    return out


def test_bounded_newest_first_pages_equal_the_stored_spans(
    loaded: tuple[DuckDBEventStore, list[Span]],
) -> None:
    store, spans = loaded
    bounded = 0
    for q in _queries(5):
        b = newest.bound_sql(q, store.pair_keys.counted)
        assert b is not None
        bounded += bool(store._query(*b))
        page = store.list_spans(q)
        assert [s.span_id for s in page.items] == _newest_in_python(spans, q), q
        if page.next_cursor is not None:  # the next page (plain query) continues it
            rest = store.list_spans(replace(q, cursor=page.next_cursor, limit=1000))
            assert [s.span_id for s in page.items + rest.items] == _newest_in_python(
                spans, replace(q, limit=q.limit + 1000)
            )
    assert bounded >= 10  # most questions were bounded, not answered plainly


def test_bounded_pages_follow_a_commit_and_a_delete_between_two_questions(
    loaded: tuple[DuckDBEventStore, list[Span]],
) -> None:
    store, spans = loaded
    q = SpanQuery(
        P,
        TimeRange(None, T0 + timedelta(hours=5)),
        attributes=(AttrEquals("metadata.region", "eu-west"),),
    )
    assert [s.span_id for s in store.list_spans(q).items] == _newest_in_python(spans, q)
    # Delete the newest hour before the end: the bound must move back with the counts.
    store.delete_spans(P, before=T0 + timedelta(hours=5))
    kept = [s for s in spans if s.project != P or s.start_time >= T0 + timedelta(hours=5)]
    assert [s.span_id for s in store.list_spans(q).items] == _newest_in_python(kept, q) == []
    more = _spans(900, seed=8)
    more = [
        replace(s, span_id=SpanId(f"{s.span_id}-m"), start_time=s.start_time - timedelta(hours=1))
        for s in more
    ]
    store.append_spans(more)
    assert [s.span_id for s in store.list_spans(q).items] == _newest_in_python(kept + more, q)


def test_bounded_pages_never_come_from_summaries_that_lag(
    loaded: tuple[DuckDBEventStore, list[Span]],
) -> None:
    store, spans = loaded
    q = SpanQuery(P, TimeRange(None, T0 + timedelta(hours=4)))
    with store.sketch_guard.changing():
        # A lagging sketch that claims the newest slot holds every span: a wrong bound.
        store._con.execute(f"UPDATE {sketch.TABLE} SET n = n + 100000")
        assert [s.span_id for s in store.list_spans(q).items] == _newest_in_python(spans, q)


def test_summaries_survive_reopen_and_compaction(tmp_path: Path) -> None:
    spans = _spans(1500, seed=9)
    store = _store(tmp_path, spans)
    lo, hi = T0 + timedelta(seconds=33), T0 + timedelta(hours=5)
    ids = sorted({s.trace_id for s in spans})[:50]
    try:
        before = (
            _count(store, _region_query("eu-west", lo, hi)),
            _as_tuples(store.trace_totals(ids)),
        )
        assert before[0] == _region_count(spans, "eu-west", lo, hi)
        assert store.compact() is not None
        assert (
            _count(store, _region_query("eu-west", lo, hi)),
            _as_tuples(store.trace_totals(ids)),
        ) == before
    finally:
        store.close()
    store = DuckDBEventStore(tmp_path / "events.duckdb")
    try:
        assert (
            _count(store, _region_query("eu-west", lo, hi)),
            _as_tuples(store.trace_totals(ids)),
        ) == before
    finally:
        store.close()


def test_pair_counts_stay_exact_when_the_appended_rows_are_summed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batches append their counts; every few rows they are summed per (slot, pair)."""
    monkeypatch.setattr(pair_sketch, "COMPACT_ROWS", 40)
    spans = _spans(3000, seed=13)
    store = DuckDBEventStore(tmp_path / "events.duckdb")
    try:
        for i in range(0, len(spans), 100):  # 30 commits, a summing every few of them
            store.append_spans(spans[i : i + 100])
        ((rows, distinct),) = store._query(
            f"SELECT count(*), count(DISTINCT (project, slot, pair)) FROM {pair_sketch.TABLE}"
        )
        assert rows < 2 * distinct + 40  # summed, not one row per batch
        for lo, hi in _windows(3):
            for region in REGIONS:
                q = _region_query(region, lo, hi)
                assert _count(store, q) == _region_count(spans, region, lo, hi)
    finally:
        store.close()
