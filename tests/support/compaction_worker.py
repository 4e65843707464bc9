"""Child process of the compaction crash test: streams spans into an event store and
compacts it over and over, printing what was acknowledged, until it is killed.

Run as ``python compaction_worker.py DB_PATH``. Lines on stdout: ``acked N`` once the spans
numbered below N are durable (``append_spans`` returned), ``start``/``done`` around each
compaction.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "contract"))

from store_factories import make_rag_span

from llmpulse.store.events.duckdb import DuckDBEventStore

COMMIT = 200


def _say(line: str, lock: threading.Lock) -> None:
    with lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def main() -> None:
    """Stream and compact until killed."""
    store = DuckDBEventStore(Path(sys.argv[1]))
    first = store.stats().num_spans
    lock = threading.Lock()

    def write() -> None:
        n = first
        while True:
            store.append_spans([make_rag_span(n + k) for k in range(COMMIT)])
            n += COMMIT
            _say(f"acked {n}", lock)

    threading.Thread(target=write, daemon=True).start()
    while True:
        _say("start", lock)
        store.compact()
        _say("done", lock)


if __name__ == "__main__":
    main()
