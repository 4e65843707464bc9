"""Data directory: layout, single-process lock, version file, open_stores."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from llmpulse.domain.errors import Conflict
from llmpulse.domain.ids import ProjectName, SpanId, TraceId
from llmpulse.domain.spans import Span, SpanKind
from llmpulse.store.datadir import LAYOUT_VERSION, DataDir, open_stores

T = datetime(2026, 11, 23, tzinfo=UTC)
SPAN = Span(ProjectName("p"), TraceId("1" * 32), SpanId("2" * 16), None, "n", SpanKind.LLM, T, T)


def test_open_stores_lays_out_directory_when_new(tmp_path: Path) -> None:
    data = tmp_path / "data"
    events, state = open_stores(data)
    try:
        events.append_spans([SPAN])
        state.ensure_projects([ProjectName("p")], T)
    finally:
        state.close()
        events.close()
    layout = DataDir(data)
    assert layout.events_path.is_file()
    assert layout.state_path.is_file()
    assert layout.lock_path.is_file()
    assert layout.version_path.read_text().strip() == str(LAYOUT_VERSION)


def test_open_stores_raises_conflict_when_directory_is_open(tmp_path: Path) -> None:
    events, state = open_stores(tmp_path)
    try:
        with pytest.raises(Conflict, match="in use"):
            open_stores(tmp_path)
    finally:
        state.close()
        events.close()


def test_open_stores_reopens_data_when_previous_was_closed(tmp_path: Path) -> None:
    events, state = open_stores(tmp_path)
    events.append_spans([SPAN])
    state.ensure_projects([ProjectName("p")], T)
    state.close()
    events.close()
    events, state = open_stores(tmp_path)
    try:
        assert events.get_span(SPAN.span_id) == SPAN
        assert [p.name for p in state.list_projects()] == ["p"]
    finally:
        state.close()
        events.close()


def test_open_stores_refuses_directory_when_layout_is_newer(tmp_path: Path) -> None:
    DataDir(tmp_path).version_path.write_text(f"{LAYOUT_VERSION + 1}\n")
    with pytest.raises(Conflict, match="layout version"):
        open_stores(tmp_path)
    # the failed open released the lock
    DataDir(tmp_path).lock().release()


def test_open_stores_keeps_everything_in_memory_when_no_directory() -> None:
    events, state = open_stores(None)
    try:
        events.append_spans([SPAN])
        assert events.stats().bytes_on_disk == 0
        assert state.list_projects() == []
    finally:
        state.close()
        events.close()
