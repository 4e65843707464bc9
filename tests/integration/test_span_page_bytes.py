"""A span page over real HTTP is, byte for byte, what decoding its spans gave (ADR 0040).

The route encodes a page straight from the store's rows and reads the trace totals while it
encodes; the body must equal the old way's: each span decoded, clipped and mapped
(`span_to_dict`), the root rows' trace totals added, serialized with `to_json`. Demo data
(RAG traces with messages, documents, metadata, errors) at a fixed end; pages newest first,
before an end, by latency, by latency with the summary fields (ADR 0045), and the next page by
cursor.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from llmpulse.domain.ids import ProjectName
from llmpulse.query.clip import clip_span
from llmpulse.server.routes.models import span_to_dict, to_json
from llmpulse.store.api import SpanQuery, TimeRange
from llmpulse.store.events.duckdb import DuckDBEventStore
from support.server import running_demo_server

P = ProjectName("rag-demo")
END = "2026-12-04T16:00:00+0000"


def _old_body(store: DuckDBEventStore, q: SpanQuery) -> bytes:
    page = store.list_spans(q)
    roots = [s.trace_id for s in page.items if s.parent_span_id is None]
    totals = store.trace_totals(roots) if roots else {}
    data: list[dict[str, Any]] = []
    for s in page.items:
        row = span_to_dict(*clip_span(s))
        t = totals.get(s.trace_id) if s.parent_span_id is None else None
        row["trace"] = asdict(t) if t is not None else None
        data.append(row)
    body: dict[str, object] = {"data": data, "next_cursor": page.next_cursor}
    body["total"] = body["total_capped"] = None
    return to_json(body)


def test_span_pages_are_the_bytes_of_the_decoded_spans(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    end = datetime(2026, 12, 4, 13, 17, 5, tzinfo=UTC)
    asked: list[tuple[dict[str, str], SpanQuery, bytes]] = []
    with running_demo_server(data_dir, days=1, end=END) as server:
        url = f"{server.url}/api/v1/projects/{P}/spans"
        views = [
            ({"limit": "100"}, SpanQuery(P, limit=100)),
            ({"limit": "100", "end": end.isoformat()}, SpanQuery(P, TimeRange(None, end))),
            ({"limit": "50", "sort": "latency"}, SpanQuery(P, sort="latency", limit=50)),
            (
                {"limit": "100", "sort": "latency", "fields": "summary"},
                SpanQuery(P, sort="latency", limit=100, fields="summary"),
            ),
        ]
        with httpx.Client(timeout=60) as client:
            for params, q in views:
                r = client.get(url, params=params)
                assert r.status_code == 200, r.text
                asked.append((params, q, r.content))
            cursor = client.get(url, params={"limit": "100"}).json()["next_cursor"]
            assert cursor
            r = client.get(url, params={"limit": "100", "cursor": cursor})
            asked.append(({"cursor": cursor}, SpanQuery(P, limit=100, cursor=cursor), r.content))
    store = DuckDBEventStore(data_dir / "events.duckdb")
    try:
        for params, q, body in asked:
            old = _old_body(store, q)
            assert body == old, params
            assert len(body) > 10_000  # real pages: full spans, totals on root rows
            assert b'"trace":{"total_tokens"' in body or q.cursor is not None
    finally:
        store.close()
