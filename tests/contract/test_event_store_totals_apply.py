"""Reads right after a load, while a backlog waits or is applied (ADR 0055).

Applying the backlog adds it to the in-memory summaries, then to the traces' totals, whose
COMMIT and the backlog's removal are one change. A read of the totals during the first part
answers from the totals at once (it used to wait for the whole apply, then read the spans);
one that falls between the totals' COMMIT and the backlog's removal would count the backlog
twice, so it waits and the spans answer. Both are exact. The newest page's bound counts the
backlog's spans, the newest right after a load.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from store_factories import make_span
from test_event_store_summaries import _newest_in_python
from test_event_store_trace_sums import P, _caught_up, _check_totals, _traces

from llmpulse.domain.ids import ProjectName
from llmpulse.domain.spans import Span
from llmpulse.store.api import SpanQuery
from llmpulse.store.events import sketch, sketch_copy, summary_upkeep
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.events.summary_guard import SketchGuard


@pytest.fixture
def store(tmp_path: Path, held: None) -> Iterator[tuple[DuckDBEventStore, list[Span]]]:
    s, stored = _caught_up(tmp_path, seed=41, n=40)
    late = [x for t in _traces(seed=42, n=30, first=500) for x in t]
    for i in range(0, len(late), 11):
        s.append_spans(late[i : i + 11])
    assert not s.summary_upkeep.caught_up
    yield s, stored + late
    s.close()


def test_a_totals_read_during_the_in_memory_part_answers_from_the_totals(
    store: tuple[DuckDBEventStore, list[Span]], monkeypatch: pytest.MonkeyPatch
) -> None:
    s, stored = store
    add = sketch.add
    reads = []

    def read_meanwhile(con: Any, batch: Any) -> None:
        add(con, batch)
        reads.append(len(batch))
        _check_totals(s, stored, summed=True)  # the totals and the whole backlog: no wait

    monkeypatch.setattr(sketch, "add", read_meanwhile)
    assert s.catch_up() > 0
    assert reads
    monkeypatch.setattr(sketch, "add", add)
    _check_totals(s, stored, summed=True)  # after it: the totals alone


def test_a_totals_read_between_their_commit_and_the_backlog_drop_waits(
    store: tuple[DuckDBEventStore, list[Span]], monkeypatch: pytest.MonkeyPatch
) -> None:
    s, stored = store
    applied = summary_upkeep.SummaryUpkeep._totals_applied
    reads = []

    @contextlib.contextmanager
    def read_after_commit(self: summary_upkeep.SummaryUpkeep, batches: int) -> Iterator[None]:
        with applied(self, batches):
            yield  # the totals are committed here; the backlog still holds the batches
            reads.append(batches)
            _check_totals(s, stored, summed=False)  # not from totals + backlog: the spans

    monkeypatch.setattr(summary_upkeep.SummaryUpkeep, "_totals_applied", read_after_commit)
    assert s.catch_up() > 0
    assert reads
    _check_totals(s, stored, summed=True)


def test_the_newest_page_counts_the_backlog_in_its_bound(
    store: tuple[DuckDBEventStore, list[Span]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Right after a load the newest spans wait in the backlog: the page's bound counts them
    (per slot, this project's only), so it reads only their slots, and the page is exact."""
    s, stored = store
    after = max(x.start_time for x in stored) + timedelta(hours=1)
    newer = [
        replace(make_span(700_000 + i), project=P, start_time=after + timedelta(seconds=i))
        for i in range(150)
    ]
    other = [replace(make_span(800_000 + i), project=ProjectName("elsewhere")) for i in range(40)]
    s.append_spans(newer + other)
    pending = s.summary_upkeep.pending()
    got = sketch_copy.backlog_slots(pending, P)
    assert got is not None
    late = [x for t in _traces(seed=42, n=30, first=500) for x in t]  # the fixture's backlog
    want = Counter(sketch.slot_of(x.start_time) for x in [*late, *newer] if x.project == P)
    assert dict(zip(got[0].tolist(), got[1].tolist(), strict=True)) == dict(want)
    bounds = []
    newest = s._newest

    def spy(query: Any, q: SpanQuery, slot: int | None = None) -> Any:
        bounds.append(slot)
        return newest(query, q, slot)

    monkeypatch.setattr(s, "_newest", spy)
    q = SpanQuery(P, limit=100)
    want = _newest_in_python([*stored, *newer], q)
    held = s.pages_held
    assert [x.span_id for x in s.list_spans(q).items] == want  # the rows held (ADR 0067)
    assert s.pages_held == held + 1
    assert not bounds
    monkeypatch.setattr(s, "_held_page", lambda q, pairs: None)  # the statement's bound, then
    page = s.list_spans(q)
    assert [x.span_id for x in page.items] == want
    assert len(bounds) == 1  # bounded, and full at once
    assert bounds[0] is not None
    assert bounds[0] >= sketch.slot_of(newer[0].start_time)  # only the backlog's slots


def test_a_totals_read_that_a_failed_apply_overlaps_is_not_kept() -> None:
    """An apply that fails in its in-memory part spoils the summaries and empties the backlog
    after its change ends; a totals read begun before (which did not wait for that part)
    must not keep an answer that may have read the emptied backlog."""
    guard = SketchGuard()

    def read_while_an_apply_fails() -> str:
        with contextlib.suppress(RuntimeError), guard.changing(totals=False):
            raise RuntimeError("the sketch's statement failed")
        return "totals and an emptied backlog"

    assert guard.read(read_while_an_apply_fails, commits=False) is None
    assert guard.spoiled
