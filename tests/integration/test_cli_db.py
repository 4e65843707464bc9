"""`llmpulse db compact` on a stopped data directory (ADR 0019)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from contract.store_factories import make_rag_span
from llmpulse.store.datadir import DataDir, open_stores

pytestmark = pytest.mark.integration


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llmpulse", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ),
        check=False,
    )


def test_db_compact_frees_the_blocks_and_keeps_the_spans(tmp_path: Path) -> None:
    events, state = open_stores(tmp_path)
    for n in range(0, 60 * 300, 300):
        events.append_spans([make_rag_span(n + k) for k in range(300)])
        events.checkpoint()
    before = events.free_space()
    state.close()
    events.close()
    assert before.free_blocks > 0

    out = _run("db", "compact", "--data-dir", str(tmp_path))

    assert out.returncode == 0, out.stderr
    assert "compacted 18000 spans" in out.stdout
    events, state = open_stores(tmp_path)
    after = events.free_space()
    assert events.stats().num_spans == 18000
    state.close()
    events.close()
    assert after.free_blocks == 0
    assert DataDir(tmp_path).events_path.stat().st_size < before.bytes_on_disk


def test_db_compact_refuses_a_directory_a_server_holds(tmp_path: Path) -> None:
    events, state = open_stores(tmp_path)
    try:
        out = _run("db", "compact", "--data-dir", str(tmp_path))
    finally:
        state.close()
        events.close()
    assert out.returncode == 1
    assert "in use by another llmpulse process" in out.stderr


def test_db_compact_says_when_there_is_no_database(tmp_path: Path) -> None:
    out = _run("db", "compact", "--data-dir", str(tmp_path / "missing"))
    assert out.returncode == 1
    assert "no event database" in out.stderr
