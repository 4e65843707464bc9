"""Streamed exports walk the view page by page: every row once, in order, while data arrives."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import orjson
import pyarrow.parquet as pq
import pytest

from llmpulse.domain.ids import ProjectName, SpanId, TraceId
from llmpulse.domain.spans import Span, SpanKind
from llmpulse.query.export import COLUMNS, PAGE_ROWS, export_chunks
from llmpulse.query.service import QueryService
from llmpulse.store.api import SpanQuery, ValueRange
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.state.sql import SqlStateStore
from support.aio import run as run_coro

P = ProjectName("export")
T0 = datetime(2026, 11, 1, tzinfo=UTC)
N = 2 * PAGE_ROWS + 345  # three pages


def _span(i: int) -> Span:
    start = T0 + timedelta(seconds=i)
    return Span(
        project=P, trace_id=TraceId(f"{i:032x}"), span_id=SpanId(f"{i + 1:016x}"),
        parent_span_id=None, name=f"s{i}", kind=SpanKind.LLM, start_time=start,
        end_time=start + timedelta(milliseconds=(i * 7919) % 5000), total_tokens=i,
        cost_usd=None if i % 3 else i / 1000, metadata={"i": i},
    )  # fmt: skip


def _service(n: int) -> tuple[QueryService, DuckDBEventStore]:
    events = DuckDBEventStore(None)
    events.append_spans([_span(i) for i in range(n)])
    return QueryService(events, SqlStateStore("sqlite://")), events


async def _collect(chunks: AsyncIterator[bytes]) -> list[bytes]:
    return [c async for c in chunks]


def test_jsonl_export_yields_one_chunk_per_page_in_the_view_order() -> None:
    service, _ = _service(N)
    q = SpanQuery(project=P, sort="latency", descending=True)
    chunks = run_coro(_collect(export_chunks(service, q, "jsonl")))
    pages = [c for c in chunks if c]
    assert len(pages) == 3
    assert max(c.count(b"\n") for c in pages) == PAGE_ROWS
    rows = [orjson.loads(line) for c in pages for line in c.splitlines()]
    assert len(rows) == N
    keys = [(r["latency_ms"], r["span_id"]) for r in rows]
    assert keys == sorted(keys, reverse=True)
    assert orjson.loads(rows[0]["metadata"]) == {"i": rows[0]["total_tokens"]}


def test_export_keeps_every_row_once_when_spans_arrive_mid_export() -> None:
    service, events = _service(N)
    q = SpanQuery(project=P, sort="cost", descending=False)

    async def run() -> list[bytes]:
        out: list[bytes] = []
        async for chunk in export_chunks(service, q, "csv"):
            out.append(chunk)
            if len(out) == 2:  # header and first page sent: more data lands
                events.append_spans([_span(i) for i in range(N, N + 50)])
        return out

    text = b"".join(run_coro(run())).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == list(COLUMNS)
    ids = [r["span_id"] for r in rows]
    assert len(ids) == len(set(ids))
    assert set(ids) >= {_span(i).span_id for i in range(N)}


def test_parquet_export_is_one_file_with_the_view_filters_and_max_rows() -> None:
    service, _ = _service(N)
    q = SpanQuery(project=P, sort="tokens", ranges=(ValueRange("latency", low=1000),))
    data = b"".join(run_coro(_collect(export_chunks(service, q, "parquet", max_rows=1500))))
    table = pq.read_table(io.BytesIO(data))
    assert table.num_rows == 1500
    assert table.schema.names == list(COLUMNS)
    tokens = table.column("total_tokens").to_pylist()
    assert tokens == sorted(tokens, reverse=True)
    assert min(table.column("latency_ms").to_pylist()) >= 1000
    assert pq.ParquetFile(io.BytesIO(data)).num_row_groups == 2  # one per page read


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_empty_view_exports_a_valid_empty_file(fmt: str) -> None:
    service, _ = _service(3)
    q = SpanQuery(project=ProjectName("nobody"))
    data = b"".join(run_coro(_collect(export_chunks(service, q, fmt))))  # type: ignore[arg-type]
    if fmt == "csv":
        assert data.decode().splitlines() == [",".join(COLUMNS)]
    elif fmt == "jsonl":
        assert data == b""
    else:
        assert pq.read_table(io.BytesIO(data)).num_rows == 0
