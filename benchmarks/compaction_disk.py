"""Bytes per span on disk under streaming ingest, and after a compaction (ADRs 0019, 0042).

Streams COMMITS commits of SPANS ~3 kB RAG spans and prints, every REPORT commits, the data
file, its free blocks, the write-ahead log and ingest journal beside it, and bytes per span
of the file and of everything on disk (file + log + journal + a compaction's copy), with the
peak so far. Then it compacts while another stream keeps appending and prints the compact
figure.

Two ways to stream:

- direct (default): `append_spans` then `checkpoint` per commit, as the writer's idle
  checkpoint does under a trickle; no automatic compaction.
- ``--writer``: through the real `SpanWriter` (idle checkpoint after each commit, then its
  automatic compaction check), so what the store does on its own shows (compactions, and
  the disk a compaction's copy takes meanwhile).

    .venv/bin/python benchmarks/compaction_disk.py [--writer] [--commits 300] [--spans 300]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "contract"))

import duckdb
from store_factories import make_rag_span

from llmpulse.clock import SystemClock
from llmpulse.domain.spans import Span
from llmpulse.ingest.writer import SpanWriter
from llmpulse.store.events.codec import spans_to_arrow
from llmpulse.store.events.compaction import compact_path, file_size, wal_path
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.events.journal import journal_path
from llmpulse.store.state.sql import SqlStateStore


@dataclass
class Disk:
    """Everything the event store has on disk, and the most it had at a sample."""

    path: Path
    peak: int = 0

    def now(self) -> int:
        """Data file + write-ahead log + ingest journal + a compaction's copy, in bytes."""
        p = self.path
        total = sum(file_size(f) for f in (p, wal_path(p), journal_path(p), compact_path(p)))
        self.peak = max(self.peak, total)
        return total


def _report(label: str, store: DuckDBEventStore, disk: Disk, compactions: int = 0) -> None:
    space = store.free_space()
    n = store.stats().num_spans
    total = disk.now()
    print(
        f"{label}: {n} spans, file {space.bytes_on_disk / 1e6:.1f} MB, "
        f"{space.free_ratio:.0%} blocks free ({space.free_blocks}), "
        f"{space.bytes_on_disk / n:.0f} B/span file, {total / n:.0f} B/span on disk, "
        f"peak {disk.peak / 1e6:.1f} MB, compactions {compactions}",
        flush=True,
    )


def _batch(first: int, size: int) -> list[Span]:
    return [make_rag_span(first + k) for k in range(size)]


def stream_direct(store: DuckDBEventStore, disk: Disk, commits: int, size: int, every: int) -> int:
    """Append and checkpoint per commit; returns the spans streamed."""
    n = 0
    for i in range(commits):
        store.append_spans(_batch(n, size))
        store.checkpoint()
        n += size
        disk.now()
        if (i + 1) % every == 0:
            _report(f"streamed {i + 1}", store, disk)
    return n


def stream_writer(store: DuckDBEventStore, disk: Disk, commits: int, size: int, every: int) -> int:
    """Commit through the real writer, idle between commits; returns the spans streamed."""
    state = SqlStateStore("sqlite://")

    async def run() -> int:
        writer = SpanWriter(store, state, SystemClock(), idle_checkpoint_s=0.02)
        await writer.start()
        n = 0
        for i in range(commits):
            spans = _batch(n, size)
            await writer.submit_table(spans_to_arrow(spans), sorted({s.project for s in spans}))
            n += size
            checkpoints = writer.stats.checkpoints
            for _ in range(1_000):  # idle: let it checkpoint
                await asyncio.sleep(0.01)
                disk.now()
                if writer.stats.checkpoints > checkpoints:
                    break
            if (i + 1) % every == 0:
                _report(f"streamed {i + 1}", store, disk, writer.stats.compactions)
        await writer.stop()
        thread = store._compact_thread
        if thread is not None:
            thread.join()
        return n

    try:
        return asyncio.run(run())
    finally:
        state.close()


def report_fresh_copy(store: DuckDBEventStore, path: Path) -> None:
    """The compact figure: the same rows copied into a new file (no free blocks)."""
    target = path.with_name("fresh-copy.duckdb")
    n = store.backup_to(target)
    size = file_size(target)
    print(f"fresh copy: {n} spans, {size / 1e6:.1f} MB, {size / n:.0f} B/span")
    target.unlink()


def compact_while_streaming(store: DuckDBEventStore, disk: Disk, first: int, size: int) -> None:
    """Compact while another stream of commits keeps appending; print the compact figure."""
    stop = threading.Event()

    def stream() -> None:
        m = first
        while not stop.is_set():
            store.append_spans(_batch(m, size))
            m += size

    writer = threading.Thread(target=stream)
    writer.start()
    try:
        done = store.compact()
    except duckdb.Error as exc:  # e.g. out of memory: the copy sorts under the store's limit
        print(f"compaction with ingest running failed: {str(exc).splitlines()[0]}")
        return
    finally:
        stop.set()
        writer.join()
    assert done is not None
    print(
        f"compacted with ingest running: {done.num_spans} spans, {done.num_tail_rows} "
        f"copied under the lock, pause {done.pause_s * 1000:.0f} ms"
    )
    store.checkpoint()
    _report("compact", store, disk)


def main() -> None:
    """Run the measurement in a temporary directory."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=300)
    parser.add_argument("--spans", type=int, default=300)
    parser.add_argument("--report", type=int, default=50, help="report every N commits")
    parser.add_argument("--writer", action="store_true", help="stream through SpanWriter")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "events.duckdb"
        store = DuckDBEventStore(path)
        disk = Disk(path)
        stream = stream_writer if args.writer else stream_direct
        n = stream(store, disk, args.commits, args.spans, args.report)
        _report("streamed", store, disk)
        report_fresh_copy(store, path)
        compact_while_streaming(store, disk, n, args.spans)
        store.close()


if __name__ == "__main__":
    main()
