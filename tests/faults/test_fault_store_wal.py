"""A damaged write-ahead log: the ingest journal puts every acknowledged span back, and
without the journal the replay goes as far as it can and the loss is reported."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from support.faults import send, stored_count, stored_ids
from support.server import ServerProcess, free_port

pytestmark = [pytest.mark.integration]
PROJECT = "walcut"
WORKERS = ["--decode-workers", "0"]


def _crash_with_spans_in_the_log(data: Path) -> set[str]:
    server = ServerProcess(data, free_port(), 0, WORKERS).start()
    acked: set[str] = set()
    for _ in range(20):
        status, ids = send(server, PROJECT, 100)
        assert status == 200
        acked |= ids
    server.kill()  # before the idle checkpoint folds the log into the file
    return acked


def _cut_wal_in_half(data: Path) -> tuple[int, bytes]:
    wal = data / "events.duckdb.wal"
    size = wal.stat().st_size
    assert size > 100_000, "the spans should still be in the log"
    os.truncate(wal, size // 2)
    return size // 2, wal.read_bytes()


def _restart(data: Path) -> tuple[dict[str, object], list[str], str]:
    """Start on ``data``: readiness, the stored span ids (each once) and the server log."""
    server = ServerProcess(data, free_port(), 0, WORKERS).start()
    try:
        ready = httpx.get(f"{server.url}/readyz").json()
        stored = stored_ids(server, PROJECT)
        assert stored_count(server, PROJECT) == len(set(stored)), "no span is stored twice"
    finally:
        server.stop()
    return ready, stored, server.log_text()


def test_truncated_wal_loses_no_acknowledged_span_with_the_journal(tmp_path: Path) -> None:
    data = tmp_path / "data"
    acked = _crash_with_spans_in_the_log(data)
    _cut_wal_in_half(data)
    ready, stored, log = _restart(data)
    assert set(stored) == acked
    warnings = ready["warnings"]
    assert isinstance(warnings, list)
    assert any("write-ahead log was damaged" in w for w in warnings)
    [note] = [w for w in warnings if "ingest journal" in w]
    assert note.startswith("restored ")
    assert "ingest journal that the event store had lost" in note
    assert ready["ready"] is True
    assert "restored " in log


def test_truncated_wal_without_journal_reports_what_was_lost(tmp_path: Path) -> None:
    data = tmp_path / "data"
    acked = _crash_with_spans_in_the_log(data)
    (data / "events.duckdb.journal").unlink()
    cut_size, damaged = _cut_wal_in_half(data)
    ready, stored, log = _restart(data)
    assert set(stored) <= acked
    assert 0 < len(acked) - len(stored) < len(acked)  # half the log is gone, half came back
    warnings = ready["warnings"]
    assert isinstance(warnings, list)
    [note] = [w for w in warnings if "write-ahead log was damaged" in w]
    assert ready["ready"] is True  # it serves what it recovered
    assert f"Recovered {len(stored)} spans" in note
    assert f"of {cut_size}" in note
    assert "write-ahead log was damaged" in log  # the server's log says it too
    kept = [p for p in data.iterdir() if p.name.startswith("events.duckdb.wal.damaged")]
    assert len(kept) == 1
    assert kept[0].read_bytes() == damaged  # the evidence is kept


def test_intact_wal_after_a_kill_is_replayed_without_a_warning(tmp_path: Path) -> None:
    data = tmp_path / "data"
    acked = _crash_with_spans_in_the_log(data)
    ready, stored, _log = _restart(data)
    assert sorted(stored) == sorted(acked)
    assert ready == {**ready, "ready": True, "warnings": [], "reasons": []}
