"""A crash during compaction (SIGKILL at any step) leaves a store that opens with every
acknowledged span and no copy of any (ADR 0019, ADR 0001)."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from llmpulse.store.events.compaction import compact_path, done_path
from llmpulse.store.events.duckdb import DuckDBEventStore

pytestmark = [pytest.mark.integration, pytest.mark.slow]
WORKER = Path(__file__).resolve().parents[1] / "support" / "compaction_worker.py"
# Kill delays after the first compaction started (seconds): early in the copy, later in it,
# and around the swaps of later rounds.
DELAYS_S = (0.3, 1.1, 2.3, 3.7, 5.2, 0.05)


def _run_and_kill(path: Path, delay_s: float) -> tuple[int, bool]:
    """Start the worker, SIGKILL it ``delay_s`` after its first compaction started; return
    the highest acknowledged count and whether a compaction was running at the kill."""
    proc = subprocess.Popen(
        [sys.executable, str(WORKER), str(path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    acked = [0]
    running = [False]
    started = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            word, _, value = line.strip().partition(" ")
            if word == "acked":
                acked[0] = int(value)
            elif word in ("start", "done"):
                running[0] = word == "start"
                if running[0]:
                    started.set()

    reader = threading.Thread(target=read)
    reader.start()
    assert started.wait(60), "worker did not start"
    time.sleep(delay_s)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    reader.join(30)
    proc.stdout.close()
    return acked[0], running[0]


def test_every_acknowledged_span_survives_a_kill_during_compaction(tmp_path: Path) -> None:
    path = tmp_path / "events.duckdb"
    kills_during_compaction = 0
    for delay_s in DELAYS_S:
        acked, running = _run_and_kill(path, delay_s)
        kills_during_compaction += running
        store = DuckDBEventStore(path)  # recovers (discards or finishes the swap)
        stored = store.stats().num_spans
        store.close()
        con = duckdb.connect(str(path), read_only=True)
        (distinct,) = con.execute("SELECT count(DISTINCT span_id) FROM spans").fetchone() or (0,)
        con.close()
        assert stored >= acked, f"kill after {delay_s}s: {acked - stored} acknowledged lost"
        assert distinct == stored, f"kill after {delay_s}s: a span stored twice"
        assert not compact_path(path).exists()
        assert not done_path(path).exists()
    assert kills_during_compaction >= len(DELAYS_S) // 2
