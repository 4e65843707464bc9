"""EventStore contract: deleting a project's spans, or those older than a cut-off."""

from __future__ import annotations

import shutil
import threading
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from store_factories import T0, make_annotation, make_span, span_id

from llmpulse.domain.ids import ProjectName
from llmpulse.domain.spans import Span
from llmpulse.store.api import EventStore, SpanQuery
from llmpulse.store.events.duckdb import DuckDBEventStore

A, B = ProjectName("alpha"), ProjectName("beta")


def _spans(project: ProjectName, n: int, first: int = 0, step_s: float = 1.0) -> list[Span]:
    return [
        replace(
            make_span(first + i),
            project=project,
            start_time=T0 + timedelta(seconds=(first + i) * step_s),
            end_time=T0 + timedelta(seconds=(first + i) * step_s, milliseconds=5),
        )
        for i in range(n)
    ]


def _count(store: EventStore, project: ProjectName) -> int:
    return store.count_spans(SpanQuery(project=project))


def test_delete_spans_of_a_project_leaves_other_projects(event_store: EventStore) -> None:
    event_store.append_spans(_spans(A, 30) + _spans(B, 20, first=100))
    event_store.append_annotations([make_annotation(0, project=A), make_annotation(100, project=B)])
    assert event_store.delete_spans(A) == 30
    assert _count(event_store, A) == 0
    assert _count(event_store, B) == 20
    assert event_store.list_annotations([span_id(0)]) == []
    assert len(event_store.list_annotations([span_id(100)])) == 1
    assert [p.name for p in event_store.project_stats()] == [B]


def test_delete_spans_before_a_cutoff_keeps_newer_ones(event_store: EventStore) -> None:
    event_store.append_spans(_spans(A, 10) + _spans(B, 10))
    cutoff = T0 + timedelta(seconds=4)  # spans 0..3 started before it
    assert event_store.delete_spans(A, cutoff) == 4
    kept = event_store.list_spans(SpanQuery(project=A, limit=100)).items
    assert sorted(s.start_time for s in kept)[0] == cutoff
    assert _count(event_store, A) == 6
    assert _count(event_store, B) == 10  # another project's old spans stay


def test_deleted_spans_stay_deleted_after_a_crash(tmp_path: Path) -> None:
    """The ingest journal holds the deleted batch too: recovery must not put it back."""
    live, crashed = tmp_path / "live", tmp_path / "crashed"
    live.mkdir()
    store = DuckDBEventStore(live / "events.duckdb")
    try:
        store.append_spans(_spans(A, 5) + _spans(B, 5, first=50))
        store.delete_spans(A)
        shutil.copytree(live, crashed)  # the files as a crash right now would leave them
    finally:
        store.close()
    store = DuckDBEventStore(crashed / "events.duckdb")
    try:
        assert _count(store, A) == 0
        assert _count(store, B) == 5
    finally:
        store.close()


def test_deleting_a_large_project_lets_other_projects_ingest(event_store: EventStore) -> None:
    big = _spans(A, 120_000, step_s=0.01)
    for k in range(0, len(big), 20_000):
        event_store.append_spans(big[k : k + 20_000])
    done = threading.Event()
    during: list[float] = []

    def delete() -> None:
        event_store.delete_spans(A)
        done.set()

    worker = threading.Thread(target=delete)
    started = time.perf_counter()
    worker.start()
    first = 200_000
    while not done.is_set():
        event_store.append_spans(_spans(B, 10, first=first))
        if not done.is_set():
            during.append(time.perf_counter() - started)
        first += 10
    worker.join()
    assert _count(event_store, A) == 0
    assert len(during) >= 2, "no append of another project committed while the delete ran"
    assert _count(event_store, B) == first - 200_000
