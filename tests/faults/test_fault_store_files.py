"""An unreadable data file or state database stops `serve` with one clear paragraph."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from support.faults import send, serve_once
from support.server import ServerProcess, free_port

pytestmark = [pytest.mark.integration]


def _filled_data_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    server = ServerProcess(data, free_port(), 0, ["--decode-workers", "0"]).start()
    for _ in range(30):
        status, _ids = send(server, "files", 200, size=2000)
        assert status == 200
    server.stop()  # a clean stop checkpoints: the spans are in the data file now
    assert not (data / "events.duckdb.wal").exists()
    return data


def test_serve_refuses_a_truncated_data_file_with_a_message(tmp_path: Path) -> None:
    data = _filled_data_dir(tmp_path)
    events = data / "events.duckdb"
    os.truncate(events, events.stat().st_size // 2)
    done = serve_once(data)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr + done.stdout
    message = _error_paragraph(done.stderr)
    assert message.startswith("error: the event store ")
    assert str(events) in message
    assert "will not start on it" in message
    assert "backup" in message


def test_serve_refuses_a_damaged_state_database_with_a_message(tmp_path: Path) -> None:
    data = _filled_data_dir(tmp_path)
    state = data / "state.sqlite"
    raw = bytearray(state.read_bytes())
    raw[0:100] = b"\xa5" * 100  # the SQLite header
    state.write_bytes(bytes(raw))
    done = serve_once(data)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr + done.stdout
    message = _error_paragraph(done.stderr)
    assert message.startswith("error: the state database ")
    assert "will not start on it" in message


def test_serve_starts_on_the_intact_directory(tmp_path: Path) -> None:
    data = _filled_data_dir(tmp_path)
    server = ServerProcess(data, free_port(), 0, ["--decode-workers", "0"]).start()
    try:
        ready = httpx.get(f"{server.url}/readyz")
    finally:
        server.stop()
    assert ready.status_code == 200
    assert ready.json()["warnings"] == []
    assert "error:" not in server.log_text()


def _error_paragraph(stderr: str) -> str:
    """The refusal: from the ``error:`` line to the end (log lines may come before it)."""
    lines = stderr.splitlines()
    [start] = [i for i, line in enumerate(lines) if line.startswith("error: ")]
    return "\n".join(lines[start:])
