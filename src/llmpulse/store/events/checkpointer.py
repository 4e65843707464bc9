"""Background WAL checkpoints for the DuckDB event store.

A DuckDB checkpoint compresses the rows held in the WAL into the database file. Left to
DuckDB, it runs inside the commit that crosses ``wal_autocheckpoint``, so one ingest commit in
a few dozen stalls for a second. This thread checkpoints from its own cursor once the WAL
passes a threshold, keeping that work off the writer's thread; DuckDB's own auto-checkpoint
stays on as a backstop at a higher threshold.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import duckdb

log = logging.getLogger(__name__)


class Checkpointer:
    """Runs ``CHECKPOINT`` whenever the WAL file grows past ``threshold_bytes``."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        wal_path: Path,
        threshold_bytes: int,
        poll_s: float = 0.2,
    ) -> None:
        """Prepare (not start) the thread; ``con`` is only used to make its own cursor."""
        self._cursor = con.cursor()
        self._wal_path = wal_path
        self._threshold = threshold_bytes
        self._poll_s = poll_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="duckdb-checkpointer", daemon=True)
        self.checkpoints = 0

    def start(self) -> None:
        """Start watching the WAL."""
        self._thread.start()

    def _wal_size(self) -> int:
        try:
            return self._wal_path.stat().st_size
        except FileNotFoundError:
            return 0

    def _run(self) -> None:
        while not self._stop.wait(self._poll_s):
            if self._wal_size() < self._threshold:
                continue
            try:
                self._cursor.execute("CHECKPOINT")
                self.checkpoints += 1
            except duckdb.Error as e:  # e.g. a concurrent transaction; retried next poll
                log.debug("checkpoint skipped: %s", e)

    def stop(self) -> None:
        """Stop the thread and release its cursor (waits for a running checkpoint)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self._cursor.close()
