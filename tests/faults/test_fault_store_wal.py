"""A damaged write-ahead log is replayed as far as it can be, and the loss is reported."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from support.faults import send, stored_ids
from support.server import ServerProcess, free_port

pytestmark = [pytest.mark.integration]
PROJECT = "walcut"


def test_truncated_wal_is_replayed_up_to_the_cut_and_the_loss_is_reported(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = ServerProcess(data, free_port(), 0, ["--decode-workers", "0"]).start()
    acked: set[str] = set()
    for _ in range(20):
        status, ids = send(server, PROJECT, 100)
        assert status == 200
        acked |= ids
    server.kill()  # before the idle checkpoint folds the log into the file
    wal = data / "events.duckdb.wal"
    size = wal.stat().st_size
    assert size > 100_000, "the spans should still be in the log"
    damaged = wal.read_bytes()[: size // 2]
    os.truncate(wal, size // 2)

    restarted = ServerProcess(data, free_port(), 0, ["--decode-workers", "0"]).start()
    try:
        ready = httpx.get(f"{restarted.url}/readyz").json()
        stored = stored_ids(restarted, PROJECT)
        log = restarted.log_text()
    finally:
        restarted.stop()

    assert len(stored) == len(set(stored)), "no span is stored twice"
    assert set(stored) <= acked
    lost = len(acked) - len(stored)
    assert 0 < lost < len(acked)  # half of the log was cut off, the rest came back
    [note] = [w for w in ready["warnings"] if "write-ahead log was damaged" in w]
    assert ready["ready"] is True  # it serves what it recovered
    assert f"Recovered {len(stored)} spans" in note
    assert f"of {size // 2}" in note
    assert "write-ahead log was damaged" in log  # the server's log says it too
    kept = [p for p in data.iterdir() if p.name.startswith("events.duckdb.wal.damaged")]
    assert len(kept) == 1
    assert kept[0].read_bytes() == damaged


def test_intact_wal_after_a_kill_is_replayed_without_a_warning(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = ServerProcess(data, free_port(), 0, ["--decode-workers", "0"]).start()
    acked: set[str] = set()
    for _ in range(5):
        status, ids = send(server, PROJECT, 100)
        assert status == 200
        acked |= ids
    server.kill()
    restarted = ServerProcess(data, free_port(), 0, ["--decode-workers", "0"]).start()
    try:
        ready = httpx.get(f"{restarted.url}/readyz").json()
        stored = stored_ids(restarted, PROJECT)
    finally:
        restarted.stop()
    assert sorted(stored) == sorted(acked)
    assert ready == {**ready, "ready": True, "warnings": [], "reasons": []}
