"""EventStore contract: a page's trace totals while spans wait in the summaries' backlog.

Right after a load the newest page's traces are in the backlog. Their totals are then the
traces' stored rows plus the backlog's spans of them, added in Python (`trace_sums.
lone_totals`) instead of one grouped statement. What is checked is what a user reads: each
trace's tokens, cost, errors, spans and latency equal the sums over its planted spans and the
grouped statement's answer, for traces wholly in the backlog, split between table and backlog,
or stored only; a trace the fast path cannot add (odd span, a cost too large for the decimal,
two projects sharing the trace id) still gets the planted totals, from the grouped statement
or the spans. A span's cost as a decimal is held to DuckDB's own cast.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import replace
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from store_factories import make_span
from trace_factories import random_traces

from llmpulse.domain.ids import ProjectName, SpanId, TraceId
from llmpulse.domain.spans import Span, StatusCode
from llmpulse.store.api import TraceTotals
from llmpulse.store.events import trace_sums
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.events.listing import COST_DECIMAL

P = ProjectName("default")
OTHER = ProjectName("other")
COSTS = (None, 0.0421, 0.1, 1 / 3, 2.5e-12, 1e-13, 123456.789, 0.0)


def _traces(seed: int, n: int) -> list[list[Span]]:
    """``n`` traces of a root and 0-5 children, costs that do not add up exactly in binary
    (a third, a tenth, half a unit of the decimal's last place), tokens often none."""
    return random_traces(
        seed,
        n,
        cost=lambda rng: rng.choice(COSTS),
        tokens=lambda rng: rng.choice([None, 0, rng.randrange(1, 900)]),
        statuses=(StatusCode.OK, StatusCode.ERROR, StatusCode.UNSET),
        spread_s=3600,
        other_every=7,
    )


def _in_units(cost: float) -> Decimal:
    """A cost to the decimal's 12 places, half away from zero (as DuckDB's cast rounds)."""
    return Decimal(str(cost)).quantize(Decimal("1e-12"), rounding=ROUND_HALF_UP)


def _planted(spans: list[Span]) -> dict[str, TraceTotals]:
    by_trace: dict[str, list[Span]] = defaultdict(list)
    for s in spans:
        by_trace[s.trace_id].append(s)
    out = {}
    for tid, group in by_trace.items():
        cost = sum((_in_units(s.cost_usd) for s in group if s.cost_usd), Decimal(0))
        first = min(s.start_time for s in group)
        last = max(s.end_time for s in group if s.end_time is not None)
        out[tid] = TraceTotals(
            total_tokens=sum(s.total_tokens or 0 for s in group),
            cost_usd=float(cost),
            errors=sum(s.status_code is StatusCode.ERROR for s in group),
            num_spans=len(group),
            latency_ms=(last - first) / timedelta(milliseconds=1),
        )
    return out


def _same(got: dict[str, TraceTotals], want: dict[str, TraceTotals]) -> None:
    assert set(got) == set(want)
    for tid, t in got.items():
        w = want[tid]
        assert (t.total_tokens, t.errors, t.num_spans) == (w.total_tokens, w.errors, w.num_spans)
        assert t.cost_usd == pytest.approx(w.cost_usd, rel=1e-15, abs=0), tid
        assert t.latency_ms == pytest.approx(w.latency_ms, rel=1e-12), tid


def _split(tmp_path: Path) -> tuple[DuckDBEventStore, list[Span], list[str]]:
    """A store whose summaries hold the first 40 traces and whose backlog holds new traces,
    children of stored traces and roots that came after their children; the ids of all."""
    traces = _traces(seed=11, n=70)
    store = DuckDBEventStore(tmp_path / "events.duckdb", search_index=False)
    early = [s for t in traces[:40] for s in t]
    for i in range(0, len(early), 29):
        store.append_spans(early[i : i + 29])
    store.catch_up()
    children_of_stored = [
        make_span(
            5_000 + i,
            project=t[0].project,
            trace_id=t[0].trace_id,
            span_id=SpanId(f"{i:016x}"),
            parent_span_id=t[0].span_id,
            start_time=t[0].start_time + timedelta(seconds=30),
            end_time=t[0].start_time + timedelta(seconds=40),
            cost_usd=0.07,
            status_code=StatusCode.ERROR,
        )
        for i, t in enumerate(traces[:20], start=1)
    ]
    late_children = [s for t in traces[40:] for s in t[1:]]
    late_roots = [t[0] for t in traces[40:]]
    for batch in (children_of_stored, late_children, late_roots):
        store.append_spans(batch)
    assert not store.summary_upkeep.caught_up
    spans = early + children_of_stored + late_children + late_roots
    return store, spans, [t[0].trace_id for t in traces]


def _grouped(store: DuckDBEventStore, ids: list[str]) -> dict[str, TraceTotals] | None:
    pending = store.summary_upkeep.pending()
    return store._read(lambda cur: trace_sums.grouped_totals(cur, pending, ids))


def _beside(store: DuckDBEventStore, ids: list[str]) -> dict[str, TraceTotals] | None:
    pending = store.summary_upkeep.pending()
    assert pending is not None
    return store._read(lambda cur: trace_sums.lone_totals(cur, pending, ids))


def test_totals_beside_the_backlog_equal_the_planted_sums_and_the_grouped_statement(
    tmp_path: Path, held: None
) -> None:
    store, spans, ids = _split(tmp_path)
    want = _planted(spans)
    never = "f" * 32  # never stored: no totals
    fast = _beside(store, [*ids, never])
    assert fast is not None  # the fast path answered, for every kind of trace
    _same(fast, want)
    grouped = _grouped(store, [*ids, never])
    assert grouped is not None
    _same(fast, grouped)
    before = store.trace_totals_summed
    _same(store.trace_totals([*ids, never]), want)  # as a page asks
    assert store.trace_totals_summed == before + 1
    # A page's few traces, stored only, in the backlog only, or split.
    for some in (ids[:3], ids[45:48], ids[18:23]):
        _same(store.trace_totals(some), {t: want[t] for t in some})
    store.catch_up()  # nothing waits: the stored rows alone, the same totals
    assert store.summary_upkeep.pending() is None
    _same(store.trace_totals(ids), want)
    store.close()


@pytest.mark.parametrize(
    "odd",
    [
        pytest.param({"span_id": SpanId("SPAN00000000000A")}, id="root-id-uppercase"),
        pytest.param({"cost_usd": 2e20}, id="cost-past-the-decimal"),
        pytest.param({"cost_usd": math.inf}, id="cost-infinite"),
    ],
)
def test_a_trace_the_backlog_makes_odd_is_not_added_here(
    tmp_path: Path, held: None, odd: dict[str, object]
) -> None:
    store, spans, ids = _split(tmp_path)
    late = replace(make_span(9_001), trace_id=TraceId("a" * 32), **odd)  # type: ignore[arg-type]
    store.append_spans([late])
    assert _beside(store, [*ids, late.trace_id]) is None  # the grouped statement or spans
    got = store.trace_totals([*ids, late.trace_id])
    rest = _planted(spans)
    _same({t: v for t, v in got.items() if t != late.trace_id}, rest)
    assert got[late.trace_id].num_spans == 1
    store.close()


def test_a_trace_two_projects_store_is_not_added_here(tmp_path: Path, held: None) -> None:
    store = DuckDBEventStore(tmp_path / "events.duckdb", search_index=False)
    shared = TraceId("b" * 32)
    root = SpanId("1" * 16)
    store.append_spans(
        [
            make_span(9_100, trace_id=shared, span_id=root, cost_usd=0.5),
            make_span(9_101, project=OTHER, trace_id=shared, span_id=SpanId("2" * 16)),
        ]
    )
    store.catch_up()
    child = make_span(9_102, trace_id=shared, span_id=SpanId("3" * 16), parent_span_id=root)
    store.append_spans([child])
    assert _beside(store, [shared]) is None  # two stored rows: the grouped statement adds
    got = store.trace_totals([shared])
    assert (got[shared].num_spans, got[shared].cost_usd) == (3, 0.5)
    store.close()


_DUCK = duckdb.connect()  # Hypothesis runs the examples without function fixtures
_HALF_UNITS = [(k + 0.5) / 1e12 for k in (0, 1, 2, 3, 41, 999, 123_456_789)]


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.floats(min_value=-1e21, max_value=1e21),
        st.floats(min_value=-1e-9, max_value=1e-9),
        st.sampled_from(_HALF_UNITS).flatmap(
            lambda x: st.sampled_from(
                [x, -x, math.nextafter(x, 0.0), math.nextafter(x, 1.0), x * 1e6]
            )
        ),
    )
)
@example(0.0)
@example(-0.0)
@example(1e20)
@example(math.nextafter(1e20, 0.0))
@example(-math.nextafter(1e20, 0.0))
@example(5e-13)
@example(-2.5e-12)
def test_a_cost_as_a_decimal_is_duckdbs_cast(cost: float) -> None:
    row = _DUCK.execute(f"SELECT {COST_DECIMAL} FROM (SELECT ?::DOUBLE AS cost_usd)", [cost])
    (want,) = row.fetchone() or (None,)
    assert trace_sums.cost_decimal(cost) == want
