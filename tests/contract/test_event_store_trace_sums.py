"""EventStore contract: trace-sorted pages ranked from the traces' totals kept behind ingest
(ADR 0046) equal the order computed by hand from the planted spans.

Every page of every trace sort, both directions, three page sizes, followed through its
cursors, is checked against a brute-force order: with every batch in the totals, with
batches waiting in the summaries' backlog (new traces, children of stored traces, roots that
arrive after their children), after a delete, a compaction and a reopen. Traces the totals
cannot answer (an id that is not hex) send the project's pages to the spans, which answer the
same order; traces with several roots are ranked from the totals, their roots read from the
spans (ADR 0073). A counter shows which of the two answered each page.
"""

from __future__ import annotations

import itertools
import random
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from store_factories import T0, make_span, trace_id
from trace_factories import random_traces

from llmpulse.domain.errors import InvalidInput
from llmpulse.domain.ids import ProjectName, SpanId, TraceId
from llmpulse.domain.spans import Span, StatusCode
from llmpulse.store.api import Page, SpanQuery, TimeRange, TraceTotals
from llmpulse.store.events import listing, summaries, trace_sums
from llmpulse.store.events.duckdb import DuckDBEventStore

P = ProjectName("default")
OTHER = ProjectName("other")
SORTS = ("trace_cost", "trace_tokens", "trace_latency")
WINDOWS = (TimeRange(), TimeRange(T0 + timedelta(minutes=30), T0 + timedelta(minutes=90)))


def _traces(seed: int, n: int, first: int = 1) -> list[list[Span]]:
    """``n`` traces of a root and 0-5 children with random 128-bit trace and 64-bit span ids
    (half of them past 2**127 and 2**63): costs in 1/10,000 dollars or none, tokens often 0
    or none (many ties), roots spread over two hours, children seconds later."""
    return random_traces(
        seed,
        n,
        first=first,
        cost=lambda rng: rng.choice([None, rng.randrange(1, 400) / 10_000]),
        tokens=lambda rng: rng.choice([None, 0, 0, rng.randrange(1, 50)]),
        statuses=(StatusCode.OK, StatusCode.ERROR),
    )


def _value(sort: str, spans: list[Span]) -> float | int:
    if sort == "trace_cost":
        return float(sum((Decimal(str(s.cost_usd)) for s in spans if s.cost_usd), Decimal(0)))
    if sort == "trace_tokens":
        return sum(s.total_tokens or 0 for s in spans)
    first = min(s.start_time for s in spans)
    last = max(s.end_time for s in spans if s.end_time is not None)
    return (last - first) // timedelta(microseconds=1)


def _expected(
    stored: list[Span],
    sort: str,
    descending: bool,
    window: TimeRange,
    root_ok: Callable[[Span], bool] = lambda s: True,
) -> list[str]:
    """The root span ids of ``P`` in ``window`` (that ``root_ok`` keeps), in (trace value,
    span id) order."""
    by_trace: dict[str, list[Span]] = defaultdict(list)
    for s in stored:
        if s.project == P:
            by_trace[s.trace_id].append(s)
    roots = [
        s
        for s in stored
        if s.project == P
        and s.parent_span_id is None
        and (window.start is None or s.start_time >= window.start)
        and (window.end is None or s.start_time < window.end)
        and root_ok(s)
    ]
    keyed = sorted((_value(sort, by_trace[s.trace_id]), s.span_id) for s in roots)
    return [sid for _, sid in (reversed(keyed) if descending else keyed)]


def _pages(store: DuckDBEventStore, q: SpanQuery) -> Iterator[Page[Span]]:
    while True:
        page = store.list_spans(q)
        yield page
        if page.next_cursor is None:
            return
        q = replace(q, cursor=page.next_cursor)


def _check(
    store: DuckDBEventStore, stored: list[Span], *, ranked: bool, summed: bool | None = None
) -> None:
    """Every page of every trace sort equals the brute-force order, and so do the trace
    totals; ``ranked``: every page came from the traces' totals (else: none did); ``summed``
    (as ``ranked`` unless given): so did the totals."""
    by_trace = _by_trace(stored)
    before, pages = store.trace_pages_ranked, 0
    for sort in SORTS:
        for descending in (True, False):
            for window in WINDOWS:
                want = _expected(stored, sort, descending, window)
                for limit in (1, 7, 50):
                    q = SpanQuery(P, time=window, sort=sort, descending=descending, limit=limit)
                    got = []
                    for page in _pages(store, q):
                        items = page.items
                        assert len(items) <= limit
                        assert {s.project for s in items} <= {P}
                        got += [s.span_id for s in items]
                        pages += 1
                        # A ranked page carries its roots' totals, read beside its rows.
                        assert page.totals is not None or not ranked
                        if page.totals is not None:
                            assert set(page.totals) == {s.trace_id for s in items}
                            _assert_totals(page.totals, by_trace)
                    assert got == want, (sort, descending, window, limit)
    assert store.trace_pages_ranked - before == (pages if ranked else 0)
    _check_totals(store, stored, summed=ranked if summed is None else summed)


def _by_trace(stored: list[Span]) -> dict[str, list[Span]]:
    by_trace: dict[str, list[Span]] = defaultdict(list)
    for s in stored:
        by_trace[s.trace_id].append(s)
    return by_trace


def _assert_totals(got: dict[str, TraceTotals], by_trace: dict[str, list[Span]]) -> None:
    """Each trace's totals in ``got`` equal the sums over its planted spans (any project)."""
    for tid, t in got.items():
        spans = by_trace[tid]
        assert t.total_tokens == _value("trace_tokens", spans)
        assert t.cost_usd == pytest.approx(_value("trace_cost", spans), rel=1e-15, abs=0)
        assert t.errors == sum(s.status_code is StatusCode.ERROR for s in spans)
        assert t.num_spans == len(spans)
        assert t.latency_ms == _value("trace_latency", spans) / 1000


def _check_totals(store: DuckDBEventStore, stored: list[Span], *, summed: bool) -> None:
    """The root rows' trace totals (every stored trace, any project, and one never stored)
    equal the sums over the planted spans; ``summed``: from the traces' totals."""
    by_trace = _by_trace(stored)
    before = store.trace_totals_summed
    got = store.trace_totals([*by_trace, trace_id(99_999)])
    assert store.trace_totals_summed - before == (1 if summed else 0)
    assert set(got) == set(by_trace)
    _assert_totals(got, by_trace)


def _caught_up(path: Path, *, seed: int, n: int) -> tuple[DuckDBEventStore, list[Span]]:
    """A store of ``n`` planted traces, every batch in the summaries, and their spans."""
    spans = [s for t in _traces(seed=seed, n=n) for s in t]
    return _store(path, spans, caught_up=True), spans


def _store(
    path: Path, spans: list[Span], batch: int = 37, *, caught_up: bool = False
) -> DuckDBEventStore:
    """A store of ``spans``, appended ``batch`` at a time (``caught_up``: every batch added
    to the summaries)."""
    store = DuckDBEventStore(path / "events.duckdb", search_index=False)
    for i in range(0, len(spans), batch):
        store.append_spans(spans[i : i + batch])
    if caught_up:
        store.catch_up()
    return store


def test_pages_from_the_totals_equal_the_planted_order_through_every_change(
    tmp_path: Path, held: None
) -> None:
    traces = _traces(seed=3, n=120)
    early = [s for t in traces[:80] for s in t]
    store = _store(tmp_path, early, caught_up=True)
    _check(store, early, ranked=True)

    # In the backlog: new traces, children of stored traces, roots after their children.
    late_roots = [s for t in traces[80:] for s in t if s.parent_span_id is None]
    late = [s for t in traces[80:] for s in t if s.parent_span_id is not None]
    rng = random.Random(4)
    more = [
        replace(s, span_id=SpanId(f"{rng.getrandbits(64):016x}"), cost_usd=0.0421)
        for t in traces[:40]
        for s in t[1:2]
    ]
    for batch in (late, more, late_roots):
        store.append_spans(batch)
    stored = early + late + more + late_roots
    assert not store.summary_upkeep.caught_up
    _check(store, stored, ranked=True)

    cut = T0 + timedelta(minutes=45)
    store.delete_spans(P, before=cut)
    stored = [s for s in stored if s.project != P or s.start_time >= cut]
    _check(store, stored, ranked=True)

    assert store.compact() is not None  # the new connection attaches the totals' file
    _check(store, stored, ranked=True)
    store.close()
    store = DuckDBEventStore(tmp_path / "events.duckdb", search_index=False)
    store.catch_up()
    _check(store, stored, ranked=True)
    store.close()


@pytest.mark.parametrize(
    ("root", "odd", "summed"),
    [
        pytest.param(False, {"trace_id": TraceId("trace-not-hex")}, False, id="trace-id-not-hex"),
        pytest.param(True, {"span_id": SpanId("SPAN00000000000A")}, False, id="root-id-uppercase"),
    ],
)
def test_a_trace_the_totals_cannot_answer_sends_the_pages_to_the_spans(
    tmp_path: Path, root: bool, odd: dict[str, object], summed: bool
) -> None:
    traces = _traces(seed=5, n=40)
    spans = [s for t in traces[1:] for s in t]
    one = next(s for s in spans if (s.parent_span_id is None) is root and s.project == P)
    spans[spans.index(one)] = replace(one, **odd)  # type: ignore[arg-type]
    store = _store(tmp_path, spans, caught_up=True)
    _check(store, spans, ranked=False, summed=summed)
    # Without that trace, the totals answer again (the delete recounts the project).
    store.delete_spans(P)
    rest = [s for s in spans if s.project != P] + traces[0]
    store.append_spans(traces[0])
    store.catch_up()
    _check(store, rest, ranked=True)
    store.close()


def _second_root(root: Span, rng: random.Random, after: timedelta) -> Span:
    """A second root of ``root``'s trace, with a new id, starting ``after`` it."""
    return replace(
        root,
        span_id=SpanId(f"{rng.getrandbits(64):016x}"),
        start_time=root.start_time + after,
        end_time=root.end_time + after if root.end_time is not None else None,
        cost_usd=rng.choice([None, rng.randrange(1, 400) / 10_000]),
    )


def _several_roots(seed: int, n: int) -> list[list[Span]]:
    """`_traces` of which every third has a second root: a child made a root, or a new root
    an hour later (often outside the shorter window); one has ten roots over an hour."""
    rng = random.Random(seed + 1)
    out = []
    for i, t in enumerate(_traces(seed=seed, n=n)):
        if i % 6 == 1 and len(t) > 1:
            t = [t[0], replace(t[1], parent_span_id=None), *t[2:]]
        elif i % 6 == 4:
            t = [*t, _second_root(t[0], rng, timedelta(hours=1))]
        elif i == 2:  # many roots, over an hour: they span pages
            t = [*t, *(_second_root(t[0], rng, timedelta(minutes=7 * k)) for k in range(1, 10))]
        out.append(t)
    return out


def test_traces_with_several_roots_are_ranked_from_the_totals_their_roots_from_the_spans(
    tmp_path: Path, held: None
) -> None:
    # Before ADR 0073 one such trace sent every page of the project to the spans.
    traces = _several_roots(seed=31, n=90)
    early = [s for t in traces[:60] for s in t]
    store = _store(tmp_path, early, caught_up=True)
    _check(store, early, ranked=True)
    # In the backlog: new traces, and second roots of stored traces.
    rng = random.Random(33)
    again = [_second_root(t[0], rng, timedelta(seconds=40)) for t in traces[:60:5]]
    late = [s for t in traces[60:] for s in t] + again
    store.append_spans(late)
    assert not store.summary_upkeep.caught_up
    stored = early + late
    _check(store, stored, ranked=True)
    for status, window in itertools.product((StatusCode.OK, StatusCode.ERROR), WINDOWS):
        # Each root passes by its own status.
        before = store.trace_pages_ranked
        q = SpanQuery(P, time=window, sort="trace_cost", status=status, limit=7)
        pages = list(_pages(store, q))
        want = _expected(
            stored, "trace_cost", True, window, lambda s, st=status: s.status_code is st
        )
        assert [s.span_id for page in pages for s in page.items] == want
        assert store.trace_pages_ranked == before + len(pages)
    store.catch_up()
    _check(store, stored, ranked=True)
    store.close()


def test_the_roots_of_many_traces_with_several_roots_are_read_in_parts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from llmpulse.store.events import trace_sort

    monkeypatch.setattr(trace_sort, "RANGES_MOST", 2)  # (statements of two traces each)
    spans = [s for t in _several_roots(seed=53, n=45) for s in t]
    store = _store(tmp_path, spans, caught_up=True)
    _check(store, spans, ranked=True)
    store.close()


def _costliest_with(
    tmp_path: Path, seed: int, extra: Callable[[list[Span]], list[Span]]
) -> tuple[DuckDBEventStore, list[Span]]:
    """A store of `_traces` where the costliest trace of ``P`` also holds ``extra(it)``."""
    traces = _traces(seed=seed, n=40)
    top = max((t for t in traces if t[0].project == P), key=lambda t: _value("trace_cost", t))
    spans = [s for t in traces for s in t] + extra(top)
    store = _store(tmp_path, spans, caught_up=True)
    return store, spans


def _first_pages(store: DuckDBEventStore, spans: list[Span]) -> tuple[int, int]:
    """The first 5 traces by cost, descending then ascending, equal the planted order; how
    many of the two pages the totals ranked, in that order."""
    ranked = []
    for descending in (True, False):
        before = store.trace_pages_ranked
        q = SpanQuery(P, sort="trace_cost", descending=descending, limit=5)
        got = [s.span_id for s in store.list_spans(q).items]
        assert got == _expected(spans, "trace_cost", descending, TimeRange())[:5]
        ranked.append(store.trace_pages_ranked - before)
    return ranked[0], ranked[1]


def test_a_root_stored_twice_sends_the_page_its_trace_may_join_to_the_spans(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The same root at two starts (not a retry's copy: another start) is two root rows of one
    # key: the page its trace would join is the spans' page, the other page the totals'.
    later = timedelta(minutes=3)
    store, spans = _costliest_with(
        tmp_path, 37, lambda t: [replace(t[0], start_time=t[0].start_time + later)]
    )
    got = {}
    for descending in (True, False):
        before = store.trace_pages_ranked
        q = SpanQuery(P, sort="trace_cost", descending=descending, limit=5)
        ids = [s.span_id for s in store.list_spans(q).items]
        got[descending] = (ids, store.trace_pages_ranked - before)
    assert got[False] == (_expected(spans, "trace_cost", False, TimeRange())[:5], 1)
    monkeypatch.setattr(trace_sums, "plan", lambda q, filtered=False: None)  # the spans alone
    q = SpanQuery(P, sort="trace_cost", limit=5)
    from_spans = [s.span_id for s in store.list_spans(q).items]
    assert from_spans[0] == spans[-1].span_id
    assert got[True] == (from_spans, 0)
    store.close()


def test_too_many_traces_with_several_roots_send_the_page_to_the_spans(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(trace_sums, "SEVERAL_MOST", 0)
    rng = random.Random(41)
    store, spans = _costliest_with(
        tmp_path, 41, lambda t: [_second_root(t[0], rng, timedelta(minutes=2))]
    )
    assert _first_pages(store, spans) == (0, 1)
    monkeypatch.setattr(trace_sums, "SEVERAL_MOST", 1)
    assert _first_pages(store, spans) == (1, 1)
    store.close()


def test_traces_whose_roots_all_start_outside_the_window_are_not_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Three traces with several roots: one before the window (its last root too), one in
    # it, one past its end. Within the window only one may join (one named, at most one
    # allowed), so the totals rank it; unbounded, all three are named and the spans answer.
    monkeypatch.setattr(trace_sums, "SEVERAL_MOST", 1)
    rng = random.Random(43)
    start, end = T0 + timedelta(minutes=30), T0 + timedelta(minutes=60)
    traces = [t for t in _traces(seed=43, n=60) if t[0].project == P]
    before = next(t for t in traces if t[0].start_time < start - timedelta(minutes=3))
    inside = next(t for t in traces if start <= t[0].start_time < end - timedelta(minutes=3))
    past = next(t for t in traces if t[0].start_time >= end)
    spans = [s for t in traces for s in t]
    spans += [_second_root(t[0], rng, timedelta(minutes=2)) for t in (before, inside, past)]
    store = _store(tmp_path, spans, caught_up=True)
    for window, ranked in ((TimeRange(start, end), 1), (TimeRange(), 0)):
        was = store.trace_pages_ranked
        q = SpanQuery(P, time=window, sort="trace_tokens", limit=500)
        got = [s.span_id for s in store.list_spans(q).items]
        assert got == _expected(spans, "trace_tokens", True, window)
        assert store.trace_pages_ranked - was == ranked
    store.close()


def test_more_joined_roots_than_allowed_send_the_page_to_the_spans(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from llmpulse.store.events import trace_sort

    rng = random.Random(47)
    store, spans = _costliest_with(
        tmp_path, 47, lambda t: [_second_root(t[0], rng, timedelta(minutes=k)) for k in (1, 2)]
    )
    monkeypatch.setattr(trace_sort, "JOINED_MOST", 2)  # the trace has three roots
    assert _first_pages(store, spans) == (0, 1)
    monkeypatch.setattr(trace_sort, "JOINED_MOST", 3)
    assert _first_pages(store, spans) == (1, 1)
    store.close()


def test_a_filtered_view_is_ranked_from_the_totals(tmp_path: Path) -> None:
    store, spans = _caught_up(tmp_path, seed=7, n=30)
    q = SpanQuery(P, sort="trace_cost", status=StatusCode.ERROR, limit=500)
    before, narrow = store.trace_pages_ranked, store.trace_pages_narrow
    got = [s.span_id for s in store.list_spans(q).items]
    assert store.trace_pages_ranked == before + 1  # the root's status is kept (ADR 0053)
    assert store.trace_pages_narrow == narrow
    failed = _expected(
        spans, "trace_cost", True, TimeRange(), lambda s: s.status_code is StatusCode.ERROR
    )
    assert failed
    assert got == failed
    store.close()


@pytest.mark.parametrize("deletes", [1, 2])
def test_a_root_deleted_between_ranking_and_reading_sends_the_page_to_the_spans(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, deletes: int
) -> None:
    # Deleted after the totals ranked it: the spans rank the page again, narrow (ADR 0048);
    # deleted again after that ranking too: the spans answer the page whole.
    from llmpulse.store.events import trace_sort

    store, spans = _caught_up(tmp_path, seed=9, n=30)
    fetch = trace_sort.fetch_roots
    gone: list[str] = []

    def delete_first(query, q, found, columns, located=None):  # type: ignore[no-untyped-def]
        if len(gone) < deletes:
            gone.append(found[0].span_id)
            query("DELETE FROM spans WHERE span_id = ?", [found[0].span_id])
        return fetch(query, q, found, columns, located)

    monkeypatch.setattr(trace_sort, "fetch_roots", delete_first)
    ranked, narrow = store.trace_pages_ranked, store.trace_pages_narrow
    page = store.list_spans(SpanQuery(P, sort="trace_tokens", limit=5))
    assert store.trace_pages_ranked == ranked
    assert store.trace_pages_narrow == narrow + (1 if deletes == 1 else 0)
    left = [s for s in spans if s.span_id not in gone]
    assert len(gone) == deletes
    assert [s.span_id for s in page.items] == _expected(left, "trace_tokens", True, TimeRange())[:5]
    store.close()


def test_spans_that_start_with_a_root_leave_its_page_to_the_totals(tmp_path: Path) -> None:
    # The page's roots are found by their start times: the children that start with their
    # root, and another project's root with the same ids and start, are read too and left out.
    spans = []
    for t in _traces(seed=17, n=60):
        if t[0].project == P:  # stored first: its row comes first
            spans.append(replace(t[0], project=OTHER, cost_usd=0.5, total_tokens=7))
        spans += [t[0], *(replace(s, start_time=t[0].start_time) for s in t[1:])]
    store = _store(tmp_path, spans, caught_up=True)
    _check(store, spans, ranked=True)
    store.close()


def test_too_many_spans_starting_with_the_roots_send_the_pages_to_the_spans(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from llmpulse.store.events import trace_sort

    monkeypatch.setattr(trace_sort, "LOCATED_PER_ROOT", 1)  # any child starting with its root
    spans = []
    for t in _traces(seed=23, n=40):
        spans += [t[0], *(replace(s, start_time=t[0].start_time) for s in t[1:])]
    assert any(len(t) > 1 for t in _traces(seed=23, n=40))
    store = _store(tmp_path, spans, caught_up=True)
    ranked, narrow = store.trace_pages_ranked, store.trace_pages_narrow
    for sort in SORTS:
        q = SpanQuery(P, sort=sort, limit=500)
        assert [s.span_id for s in store.list_spans(q).items] == _expected(
            spans, sort, True, TimeRange()
        )
    assert (store.trace_pages_ranked, store.trace_pages_narrow) == (ranked, narrow)
    store.close()


def test_a_cursor_from_the_totals_pages_on_through_the_spans(tmp_path: Path) -> None:
    store, spans = _caught_up(tmp_path, seed=13, n=60)
    q = SpanQuery(P, sort="trace_cost", descending=False, limit=9)
    first = store.list_spans(q)
    assert store.trace_pages_ranked == 1
    # An odd trace, costlier than any other: it sorts last, after the cursor.
    odd = make_span(1, trace_id=TraceId("odd-trace"), span_id=SpanId("odd-root"), cost_usd=9.0)
    store.append_spans([odd])
    store.catch_up()
    rest = list(_pages(store, replace(q, cursor=first.next_cursor)))
    assert store.trace_pages_ranked == 1  # the spans answered every page after the first
    got = [s.span_id for s in first.items] + [s.span_id for page in rest for s in page.items]
    want = _expected([*spans, odd], "trace_cost", False, TimeRange())
    assert want[-1] == "odd-root"
    assert got == want
    store.close()


def test_totals_past_int64_tokens_or_1e20_dollars_stay_exact_and_keep_the_summaries(
    tmp_path: Path,
) -> None:
    spans = [s for t in _traces(seed=15, n=20) for s in t]
    huge = [
        make_span(
            9_000 + k,
            trace_id=TraceId("f" * 32),
            span_id=SpanId(f"{'e' * 15}{k}"),
            parent_span_id=None if k == 0 else SpanId("e" * 15 + "0"),
            total_tokens=5 * 10**18,  # two are past int64, four past 2**64 (a cursor's value)
        )
        for k in range(4)
    ]
    store = _store(tmp_path, spans)
    for span in huge:
        store.append_spans([span])  # summed across batches
    store.catch_up()
    assert store.sketch_guard.usable
    _check(store, [*spans, *huge], ranked=True)
    costly = [
        make_span(
            9_100 + k,
            trace_id=TraceId("e" * 32),
            parent_span_id=None if k == 0 else make_span(9_100).span_id,
            cost_usd=6e25,
        )
        for k in range(2)
    ]  # 6e25 dollars each: the sum is past DECIMAL(38, 12), and 1e20+ is odd
    store.append_spans(costly[:1])
    store.append_spans(costly[1:])
    store.catch_up()
    assert store.sketch_guard.usable
    _check(store, [*spans, *huge, *costly], ranked=False, summed=False)
    store.close()


def test_a_limit_out_of_range_is_refused_as_on_the_spans(tmp_path: Path) -> None:
    store = _store(tmp_path, [s for t in _traces(seed=17, n=5) for s in t])
    store.catch_up()
    for limit in (0, -1, 1001):
        with pytest.raises(InvalidInput, match="limit"):
            store.list_spans(SpanQuery(P, sort="trace_cost", limit=limit))
    store.close()


def test_a_compaction_that_cannot_carry_the_summaries_over_puts_them_out_of_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, spans = _caught_up(tmp_path, seed=19, n=20)

    def fails(*args: object) -> None:
        raise duckdb.ConversionException("cannot restore")

    monkeypatch.setattr(summaries, "build", fails)
    assert store.compact() is not None  # the compacted spans are swapped in all the same
    assert not store.sketch_guard.usable
    _check(store, spans, ranked=False, summed=False)
    store.close()


@pytest.mark.parametrize("change", ["commit", "apply"])
def test_a_commit_while_a_page_is_ranked_leaves_it_ranked_as_of_its_start(
    tmp_path: Path, held: None, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    """Every ranking below commits a new batch while it reads (and with ``apply``, adds the
    backlog to the totals too): a commit only adds spans the page's moment did not hold,
    so the page stays ranked; an apply changes the totals under the reader, so the spans
    answer. Either way the page equals the spans' order of some moment."""
    store, stored = _caught_up(tmp_path, seed=29, n=40)
    fresh = [s for t in _traces(seed=30, n=60, first=1000) for s in t]
    later = (fresh[i : i + 7] for i in range(0, len(fresh), 7))
    rank = trace_sums.page
    seen: list[list[Span]] = []

    def commit_while_ranking(*args: Any) -> Any:
        got = rank(*args)
        seen.append(list(stored))  # the spans of the moment the ranking read
        batch = next(later)
        store.append_spans(batch)
        stored.extend(batch)
        if change == "apply":
            store.catch_up()
        return got

    monkeypatch.setattr(trace_sums, "page", commit_while_ranking)
    for sort in SORTS:
        before = store.trace_pages_ranked
        page = store.list_spans(SpanQuery(P, sort=sort, descending=True, limit=7))
        got = [s.span_id for s in page.items]
        assert store.trace_pages_ranked - before == (1 if change == "commit" else 0)
        if change == "commit":
            assert got == _expected(seen[-1], sort, True, TimeRange())[:7]
        else:  # the spans answered after the last change
            assert got == _expected(stored, sort, True, TimeRange())[:7]
    store.close()


def test_totals_read_row_by_row_equal_the_grouped_ones(tmp_path: Path) -> None:
    """A page's trace totals are read from the traces' rows as they are when each trace has
    one (no grouping); two traces whose keys share their low 64 bits,
    a trace in two projects and one never stored answer as the spans do."""
    low = "0123456789abcdef"
    twins = [TraceId("a" * 16 + low), TraceId("b" * 16 + low)]  # same low half of the key
    spans = []
    planted = [
        (twins[0], P, 5),
        (twins[0], P, 7),
        (twins[1], P, 11),
        (trace_id(3), P, 2),
        (trace_id(3), OTHER, 40),  # one trace id, two projects: two rows of totals
    ]
    for n, (tid, project, tokens) in enumerate(planted):
        start = T0 + timedelta(seconds=n)
        spans.append(
            make_span(
                n + 1,
                project=project,
                trace_id=tid,
                parent_span_id=None if n in (0, 2, 3, 4) else SpanId(f"{1:016x}"),
                start_time=start,
                end_time=start + timedelta(milliseconds=10 * (n + 1)),
                total_tokens=tokens,
                cost_usd=0.001 * (n + 1),
            )
        )
    store = _store(tmp_path, spans, caught_up=True)
    by_trace = _by_trace(spans)
    for asked in ([twins[0]], [twins[1]], twins, [trace_id(3)], [*twins, trace_id(3)]):
        before = store.trace_totals_summed
        got = store.trace_totals([*asked, trace_id(99_999)])
        assert store.trace_totals_summed - before == 1  # from the totals, not the spans
        assert set(got) == set(asked)  # a twin asked alone brings the other's row along
        _assert_totals(got, by_trace)
        assert got == listing_totals(store, [*asked, trace_id(99_999)])
    store.close()


def listing_totals(store: DuckDBEventStore, ids: list[TraceId]) -> dict[str, TraceTotals]:
    """The same totals summed from the spans (`listing.trace_totals`)."""
    return listing.trace_totals(store._query, ids)
