"""`QuietCheckpoint`: fold a bulk load's write-ahead log into the file at a quiet moment.

A bulk load leaves its rows in DuckDB's write-ahead log (186 MB after 30,000 benchmark spans,
under the 256 MB automatic threshold), and the next commit, whatever it is, checkpoints them:
~1 CPU-second at 30,000 spans, under the writer's lock. That commit was the search indexer's
first round a second after the load, in the middle of the first queries (which then ran 2-4x
slower for a second or two), or the next ingest request, whose acknowledgement waited
seconds. This thread checkpoints instead once the log holds at least `MIN_WAL_BYTES`, no
commit came for `SETTLE_S` and no query ran for `QUIET_S` (ADR 0041). A checkpoint cannot be
cut in slices, so it only starts when quiet; if queries never pause, the next commit does it
as before. Appends that arrive meanwhile wait for it, as they would behind DuckDB's own.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from llmpulse.clock import SystemClock
from llmpulse.store.activity import QueryActivity

log = logging.getLogger(__name__)

MIN_WAL_BYTES = 64 * 1024 * 1024
"""A smaller log is left to DuckDB's own checkpoints (a quarter of its 256 MB threshold)."""
SETTLE_S = 1.0
"""No commit for this long: the burst is over (a steady stream never leaves such a gap)."""
QUIET_S = 0.05
"""No query ended in the last this many seconds."""
POLL_S = 0.05
RETRY_S = 5.0


class QuietCheckpoint:
    """A thread that checkpoints a large write-ahead log when ingest and queries are quiet."""

    def __init__(
        self,
        wal_bytes: Callable[[], int],
        last_commit: Callable[[], float],
        checkpoint: Callable[[], None],
        activity: QueryActivity,
        min_bytes: int = MIN_WAL_BYTES,
    ) -> None:
        """Args:
        wal_bytes: the log's size after the last commit.
        last_commit: when the last commit ended (monotonic seconds).
        checkpoint: checkpoints under the writer's lock (raises on failure).
        activity: the queries to stay out of the way of.
        min_bytes: checkpoint a log from this size on.
        """
        self.min_bytes = min_bytes
        self._wal_bytes = wal_bytes
        self._last_commit = last_commit
        self._checkpoint = checkpoint
        self._activity = activity
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.runs = 0
        """Checkpoints done (observability and tests)."""

    def due(self) -> bool:
        """The log is large and no commit came for `SETTLE_S`."""
        idle = SystemClock().monotonic_s() - self._last_commit()
        return self.heavy() and idle >= SETTLE_S

    def heavy(self) -> bool:
        """The log holds at least ``min_bytes`` (a commit would carry a large checkpoint)."""
        return self._wal_bytes() >= self.min_bytes

    def start(self) -> None:
        """Start the thread."""
        self._thread = threading.Thread(target=self._run, name="llmpulse-checkpoint", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread (waits for a running checkpoint)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(POLL_S):
            if not self.due() or not self._activity.quiet(QUIET_S):
                continue
            try:
                self._checkpoint()
            except Exception:  # closing, or a full disk: the next commit or a later poll retries
                log.debug("quiet checkpoint failed", exc_info=True)
                self._stop.wait(RETRY_S)
                continue
            self.runs += 1
