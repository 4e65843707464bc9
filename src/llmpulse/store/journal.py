"""The ingest journal: an fsync'd, append-only log of span tables (ADR 0007).

An OTLP request is acknowledged once its spans are in the journal, not once they are in the
event store: one sequential write and one fsync per group of requests is far cheaper than a
DuckDB commit, and the event store can then take spans in large commits (a 16k-span commit
costs about a third per span of a 300-span one). Each record carries a sequence number; the
event store saves the highest sequence it holds in the same transaction as the spans
(`EventStore.append_columns`), so `replay` after a crash hands back exactly the records the
store is missing, and `release` deletes the segments the store fully holds.

Layout: ``<data dir>/journal/<first sequence, 20 digits>.journal`` segments of frames
``[payload bytes: u64][sequence: u64][crc32 of payload: u32][payload]``, the payload being one
table in the Arrow IPC stream format. A frame torn by a crash (short or failing its checksum)
at the end of the newest segment is cut off at open; it was never acknowledged.
"""

from __future__ import annotations

import logging
import os
import struct
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa

from llmpulse.domain.errors import Unavailable

log = logging.getLogger(__name__)

_HEADER = struct.Struct("<QQI")
_SUFFIX = ".journal"
DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024


class Journal:
    """An append-only log of Arrow tables in one directory; not thread-safe (one writer)."""

    def __init__(self, directory: Path, *, segment_bytes: int = DEFAULT_SEGMENT_BYTES) -> None:
        """Open (creating if needed) the journal and cut off a torn last frame.

        Raises:
            Unavailable: a segment other than the newest one is damaged.
        """
        self._dir = directory
        self._segment_bytes = segment_bytes
        directory.mkdir(parents=True, exist_ok=True)
        self._segments = sorted(directory.glob(f"*{_SUFFIX}"))
        self.last_seq = 0
        for i, path in enumerate(self._segments):
            end, last = _scan(path)
            if end < path.stat().st_size:
                if i != len(self._segments) - 1:
                    raise Unavailable(f"ingest journal segment {path.name} is damaged at {end}")
                log.warning("cutting a torn record off the ingest journal at %s:%d", path, end)
                os.truncate(path, end)
            self.last_seq = max(self.last_seq, last)
        self._file: BinaryIO | None = None
        if self._segments:
            self._file = open(self._segments[-1], "ab")  # noqa: SIM115 - kept open across appends

    def replay(self, after_seq: int) -> Iterator[tuple[int, pa.Table]]:
        """The records with a sequence above ``after_seq``, oldest first."""
        for path in self._segments:
            for seq, payload in _frames(path):
                if seq > after_seq:
                    yield seq, pa.ipc.open_stream(payload).read_all()

    def resume_after(self, seq: int) -> None:
        """Number the next record above ``seq`` (what the store holds may be past the journal,
        whose segments it released)."""
        self.last_seq = max(self.last_seq, seq)

    def append(self, tables: Sequence[pa.Table]) -> int:
        """Write ``tables`` as one record each and fsync; return the last sequence written."""
        seq = self.last_seq
        f = self._file
        if f is None or f.tell() >= self._segment_bytes:
            f = self._rotate(seq + 1)
        for table in tables:
            seq += 1
            payload = _ipc(table)
            f.write(_HEADER.pack(len(payload), seq, zlib.crc32(payload)))
            f.write(payload)
        f.flush()
        os.fsync(f.fileno())
        self.last_seq = seq
        return seq

    def release(self, upto_seq: int) -> None:
        """Delete the segments whose records all have a sequence of at most ``upto_seq``."""
        while len(self._segments) > 1 and _first_seq(self._segments[1]) <= upto_seq + 1:
            self._segments.pop(0).unlink()
        if self._segments and self.last_seq <= upto_seq and self._file is not None:
            # Everything is in the store: start the next record in a fresh segment.
            self._file.close()
            self._file = None
            self._segments.pop().unlink()

    def close(self) -> None:
        """Close the open segment."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _rotate(self, first_seq: int) -> BinaryIO:
        if self._file is not None:
            self._file.close()
        path = self._dir / f"{first_seq:020d}{_SUFFIX}"
        self._file = f = open(path, "ab")  # noqa: SIM115 - kept open across appends
        self._segments.append(path)
        fd = os.open(self._dir, os.O_RDONLY)
        try:
            os.fsync(fd)  # the new file's directory entry is durable too
        finally:
            os.close(fd)
        return f


def _ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    payload: bytes = sink.getvalue().to_pybytes()
    return payload


def _first_seq(path: Path) -> int:
    return int(path.name.removesuffix(_SUFFIX))


def _frames(path: Path) -> Iterator[tuple[int, bytes]]:
    """The intact frames of a segment, in order, up to the first torn one."""
    with path.open("rb") as f:
        while True:
            header = f.read(_HEADER.size)
            if len(header) < _HEADER.size:
                return
            size, seq, crc = _HEADER.unpack(header)
            payload = f.read(size)
            if len(payload) < size or zlib.crc32(payload) != crc:
                return
            yield seq, payload


def _scan(path: Path) -> tuple[int, int]:
    """The byte offset after the last intact frame, and that frame's sequence (0: none)."""
    end = last = 0
    for seq, payload in _frames(path):
        end += _HEADER.size + len(payload)
        last = seq
    return end, last
