"""Bytes per span on disk under streaming ingest, before and after a compaction (ADR 0019).

Streams COMMITS commits of SPANS ~3 kB RAG spans (a checkpoint after each, as the writer's
idle checkpoint does under a trickle), compacts while a second stream keeps appending, and
prints the file's free blocks and bytes per span at each step.

    .venv/bin/python benchmarks/compaction_disk.py [COMMITS] [SPANS]
"""

from __future__ import annotations

import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "contract"))

from store_factories import make_rag_span

from llmpulse.store.events.duckdb import DuckDBEventStore


def _report(label: str, store: DuckDBEventStore) -> None:
    space = store.free_space()
    n = store.stats().num_spans
    print(
        f"{label}: {n} spans, {space.bytes_on_disk / 1e6:.1f} MB, "
        f"{space.free_ratio:.0%} blocks free, {space.bytes_on_disk / n:.0f} B/span"
    )


def main() -> None:
    """Run the measurement in a temporary directory."""
    commits = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    with tempfile.TemporaryDirectory() as tmp:
        store = DuckDBEventStore(Path(tmp) / "events.duckdb")
        n = 0
        for _ in range(commits):
            store.append_spans([make_rag_span(n + k) for k in range(size)])
            store.checkpoint()
            n += size
        _report("streamed", store)
        stop = threading.Event()
        appended = [n]

        def stream() -> None:
            m = appended[0]
            while not stop.is_set():
                store.append_spans([make_rag_span(m + k) for k in range(size)])
                m += size
                appended[0] = m

        writer = threading.Thread(target=stream)
        writer.start()
        done = store.compact()
        stop.set()
        writer.join()
        assert done is not None
        print(
            f"compacted with ingest running: {done.num_spans} spans, {done.num_tail_rows} "
            f"copied under the lock, pause {done.pause_s * 1000:.0f} ms"
        )
        store.checkpoint()
        _report("after", store)
        store.close()


if __name__ == "__main__":
    main()
