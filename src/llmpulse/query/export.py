"""Streamed exports of a traces-table view: CSV, JSON lines and Parquet.

`export_chunks` walks the view page by page on its keyset cursor (the order and filters the
table shows) and yields encoded bytes per page, so an export of millions of spans holds one
page at a time, never the whole result. Each row is a span's flat columns; values a listing
would cut are exported whole.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime
from typing import Any, Literal

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from llmpulse.domain.spans import Span
from llmpulse.query.service import QueryService
from llmpulse.store.api import SpanQuery

ExportFormat = Literal["csv", "jsonl", "parquet"]
MEDIA_TYPES: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "jsonl": "application/x-ndjson",
    "parquet": "application/vnd.apache.parquet",
}
PAGE_ROWS = 1000
SCHEMA = pa.schema(
    [
        ("project", pa.string()),
        ("trace_id", pa.string()),
        ("span_id", pa.string()),
        ("parent_span_id", pa.string()),
        ("name", pa.string()),
        ("kind", pa.string()),
        ("start_time", pa.timestamp("us", tz="UTC")),
        ("end_time", pa.timestamp("us", tz="UTC")),
        ("latency_ms", pa.float64()),
        ("status_code", pa.string()),
        ("status_message", pa.string()),
        ("model", pa.string()),
        ("provider", pa.string()),
        ("prompt_tokens", pa.int64()),
        ("completion_tokens", pa.int64()),
        ("total_tokens", pa.int64()),
        ("cost_usd", pa.float64()),
        ("session_id", pa.string()),
        ("user_id", pa.string()),
        ("environment", pa.string()),
        ("version", pa.string()),
        ("input_value", pa.string()),
        ("output_value", pa.string()),
        ("exception_type", pa.string()),
        ("exception_message", pa.string()),
        ("metadata", pa.string()),
    ]
)
"""The exported columns, in order (``metadata`` as JSON text)."""
COLUMNS: tuple[str, ...] = tuple(SCHEMA.names)


def span_row(s: Span) -> dict[str, Any]:
    """One span as an export row (the `SCHEMA` columns)."""
    return {
        "project": s.project,
        "trace_id": s.trace_id,
        "span_id": s.span_id,
        "parent_span_id": s.parent_span_id,
        "name": s.name,
        "kind": s.kind.value,
        "start_time": s.start_time,
        "end_time": s.end_time,
        "latency_ms": s.latency_ms,
        "status_code": s.status_code.value,
        "status_message": s.status_message,
        "model": s.model,
        "provider": s.provider,
        "prompt_tokens": s.prompt_tokens,
        "completion_tokens": s.completion_tokens,
        "total_tokens": s.total_tokens,
        "cost_usd": s.cost_usd,
        "session_id": s.session_id,
        "user_id": s.user_id,
        "environment": s.environment,
        "version": s.version,
        "input_value": s.input_value,
        "output_value": s.output_value,
        "exception_type": s.exception_type,
        "exception_message": s.exception_message,
        "metadata": orjson.dumps(s.metadata).decode() if s.metadata else None,
    }


async def export_chunks(
    query: QueryService, q: SpanQuery, fmt: ExportFormat, *, max_rows: int | None = None
) -> AsyncIterator[bytes]:
    """The view ``q`` (its filters and order; cursor and limit ignored) encoded as ``fmt``.

    Args:
        query: the query service the pages are read through (uncached).
        q: the traces-table view.
        fmt: ``csv`` (header first), ``jsonl`` (one object a line) or ``parquet`` (one row
            group per page).
        max_rows: stop after this many rows (``None``: every matching span).

    Yields:
        Encoded bytes, one chunk per page read (and a header or footer).
    """
    encoder = _ENCODERS[fmt]()
    yield encoder.start()
    async for spans in _pages(query, q, max_rows):
        yield encoder.page([span_row(s) for s in spans])
    yield encoder.finish()


async def _pages(
    query: QueryService, q: SpanQuery, max_rows: int | None
) -> AsyncIterator[list[Span]]:
    left = max_rows
    cursor: str | None = None
    while left is None or left > 0:
        limit = PAGE_ROWS if left is None else min(PAGE_ROWS, left)
        page = await query.list_spans(replace(q, cursor=cursor, limit=limit), keep=False)
        if page.items:
            yield page.items
        if left is not None:
            left -= len(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return


class _Encoder:
    def start(self) -> bytes:
        return b""

    def page(self, rows: list[dict[str, Any]]) -> bytes:
        raise NotImplementedError

    def finish(self) -> bytes:
        return b""


class _Csv(_Encoder):
    def start(self) -> bytes:
        return self._lines([list(COLUMNS)])

    def page(self, rows: list[dict[str, Any]]) -> bytes:
        return self._lines([[_csv_value(r[c]) for c in COLUMNS] for r in rows])

    @staticmethod
    def _lines(rows: list[list[Any]]) -> bytes:
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(rows)
        return out.getvalue().encode()


def _csv_value(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.isoformat().replace("+00:00", "Z")
    return "" if v is None else v


class _JsonLines(_Encoder):
    def page(self, rows: list[dict[str, Any]]) -> bytes:
        return b"".join(orjson.dumps(r, option=orjson.OPT_UTC_Z) + b"\n" for r in rows)


class _Sink(io.RawIOBase):
    """A write-only file whose written bytes are taken out as they come."""

    def __init__(self) -> None:
        super().__init__()
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        data = bytes(b)
        self._parts.append(data)
        return len(data)

    def take(self) -> bytes:
        out, self._parts = b"".join(self._parts), []
        return out


class _Parquet(_Encoder):
    def __init__(self) -> None:
        self._sink = _Sink()
        self._writer = pq.ParquetWriter(self._sink, SCHEMA, compression="zstd")

    def page(self, rows: list[dict[str, Any]]) -> bytes:
        self._writer.write_table(pa.Table.from_pylist(rows, schema=SCHEMA))
        return self._sink.take()

    def finish(self) -> bytes:
        self._writer.close()
        return self._sink.take()


_ENCODERS: dict[str, type[_Encoder]] = {"csv": _Csv, "jsonl": _JsonLines, "parquet": _Parquet}
