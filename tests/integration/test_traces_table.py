"""The traces table over real HTTP: sorted, filtered, paged views; streamed exports; the SDK."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest

from llmpulse.sdk.client import Client
from llmpulse.sdk.errors import LlmpulseApiError
from support.otlp import BASE_NS, make_span, new_trace_id, post_spans
from support.server import ServerProcess

PROJECT = "traces-table"
MS = 1_000_000


@pytest.fixture(scope="module")
def seeded(live_server: ServerProcess) -> ServerProcess:
    """3 traces (a root and 2 LLM children, one child failing in trace 1) and 20 lone spans."""
    spans = []
    for t in range(3):
        tid = new_trace_id()
        root = make_span(
            f"chain{t}",
            trace_id=tid,
            start_ns=BASE_NS + t * 10_000 * MS,
            duration_ns=(900 + t) * MS,
            attrs={"openinference.span.kind": "CHAIN"},
        )
        spans.append(root)
        for c in range(2):
            spans.append(
                make_span(
                    f"llm{t}.{c}",
                    trace_id=tid,
                    parent=root.span_id,
                    start_ns=BASE_NS + t * 10_000 * MS + (c + 1) * MS,
                    duration_ns=(100 + 10 * c) * MS,
                    attrs={
                        "openinference.span.kind": "LLM",
                        "llm.model_name": "gpt-4o",
                        "llm.token_count.total": 100 * (t + 1) + c,
                        "llm.cost.total": 0.01 * (t + 1) + 0.001 * c,
                    },
                    error=t == 1 and c == 1,
                )
            )
    for i in range(20):
        spans.append(
            make_span(
                f"lone{i}",
                start_ns=BASE_NS + (40_000 + i * 7) * MS,
                duration_ns=(5 + (i * 37) % 400) * MS,
                attrs={
                    "openinference.span.kind": "LLM",
                    "llm.model_name": "small" if i % 2 else "gpt-4o",
                    "llm.token_count.total": i * 3,
                },
            )
        )
    post_spans(live_server.url, spans, PROJECT)
    return live_server


def _url(server: ServerProcess, suffix: str = "") -> str:
    return f"{server.url}/api/v1/projects/{PROJECT}/spans{suffix}"


def _walk(server: ServerProcess, limit: int, **params: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        page_params = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        r = httpx.get(_url(server), params=page_params)
        assert r.status_code == 200, r.text
        body = r.json()
        rows += body["data"]
        cursor = body["next_cursor"]
        if cursor is None:
            return rows


@pytest.mark.parametrize("sort", ["latency", "tokens", "cost", "time"])
@pytest.mark.parametrize("order", ["desc", "asc"])
def test_views_sort_both_ways_across_pages(seeded: ServerProcess, sort: str, order: str) -> None:
    field = {"latency": "latency_ms", "tokens": "total_tokens", "cost": "cost_usd"}
    rows = _walk(seeded, 4, sort=sort, order=order)
    assert len(rows) == 29
    assert len({r["span_id"] for r in rows}) == 29

    def key(r: dict[str, Any]) -> tuple[Any, str]:
        if sort == "time":
            return (datetime.fromisoformat(r["start_time"]), r["span_id"])
        value = r[field[sort]]
        return (-1 if value is None else value, r["span_id"])

    assert rows == sorted(rows, key=key, reverse=order == "desc")


def test_slowest_first_with_total_count_and_root_trace_totals(seeded: ServerProcess) -> None:
    r = httpx.get(_url(seeded), params={"sort": "latency", "limit": 3, "total": "true"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == 29
    assert [row["name"] for row in body["data"]] == ["chain2", "chain1", "chain0"]
    assert body["data"][1]["trace"] == {
        "total_tokens": 201 + 200,
        "cost_usd": pytest.approx(0.02 + 0.021),
        "errors": 1,
        "num_spans": 3,
        "latency_ms": 901.0,  # the root's 901 ms outlasts both children
    }
    child = httpx.get(_url(seeded), params={"name": "llm1.1"}).json()["data"][0]
    assert child["trace"] is None


def test_range_and_column_filters_combine(seeded: ServerProcess) -> None:
    params = {"min_latency_ms": 105, "max_latency_ms": 300, "model": "gpt-4o", "kind": "LLM"}
    rows = _walk(seeded, 100, sort="latency", order="asc", total="true", **params)
    assert rows
    assert all(105 <= r["latency_ms"] <= 300 and r["model"] == "gpt-4o" for r in rows)
    assert [r["latency_ms"] for r in rows] == sorted(r["latency_ms"] for r in rows)
    expected = [r for r in _walk(seeded, 100) if r["model"] == "gpt-4o" and r["kind"] == "LLM"]
    assert len(rows) == sum(105 <= r["latency_ms"] <= 300 for r in expected)
    costly = _walk(seeded, 100, min_cost=0.02, status="ERROR")
    assert [r["name"] for r in costly] == ["llm1.1"]
    many = _walk(seeded, 100, min_tokens=300, max_tokens=301)
    assert sorted(r["name"] for r in many) == ["llm2.0", "llm2.1"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"sort": "speed"}, "sort"),
        ({"order": "up"}, "order"),
        ({"min_latency_ms": 5, "max_latency_ms": 1}, "min_latency_ms"),
        ({"min_cost": "cheap"}, "min_cost"),
        ({"start": "2024-05-02T00:00:00Z", "end": "2024-05-01T00:00:00Z"}, "end"),
    ],
)
def test_bad_view_parameters_answer_400_naming_the_field(
    seeded: ServerProcess, params: dict[str, Any], field: str
) -> None:
    for suffix in ("", "/export"):
        r = httpx.get(_url(seeded, suffix), params=params)
        assert r.status_code == 400, r.text
        assert field in {e["path"].split(".")[-1] for e in r.json()["errors"]}, r.text


def test_unknown_fields_answer_400_and_exports_are_always_whole(seeded: ServerProcess) -> None:
    r = httpx.get(_url(seeded), params={"fields": "everything"})
    assert r.status_code == 400, r.text
    assert "fields" in {e["path"].split(".")[-1] for e in r.json()["errors"]}
    params = {"format": "jsonl", "sort": "latency"}
    whole = httpx.get(_url(seeded, "/export"), params=params)
    asked = httpx.get(_url(seeded, "/export"), params={**params, "fields": "summary"})
    assert whole.status_code == asked.status_code == 200, asked.text
    assert asked.content == whole.content  # an export has no summary: values go out whole
    assert len(whole.text.splitlines()) == 29


def test_cursor_of_another_sort_or_not_a_cursor_is_refused(seeded: ServerProcess) -> None:
    r = httpx.get(_url(seeded), params={"sort": "latency", "cursor": "bm90IGEgY3Vyc29y"})
    assert r.status_code == 400
    assert r.json()["errors"][0]["path"] == "cursor"
    cursor = httpx.get(_url(seeded), params={"sort": "cost", "limit": 2}).json()["next_cursor"]
    r = httpx.get(_url(seeded), params={"sort": "latency", "cursor": cursor})
    assert r.status_code == 400
    assert r.json()["errors"][0]["path"] == "cursor"


def test_exports_stream_the_view_in_its_order_in_each_format(seeded: ServerProcess) -> None:
    view = {"sort": "latency", "order": "desc", "kind": "LLM"}
    expected = [r["span_id"] for r in _walk(seeded, 100, **view)]
    with httpx.stream("GET", _url(seeded, "/export"), params={**view, "format": "csv"}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/csv")
        assert "content-length" not in r.headers  # streamed (chunked), not buffered
        assert "attachment" in r.headers["content-disposition"]
        text = r.read().decode()
    table = list(csv.DictReader(io.StringIO(text)))
    assert [row["span_id"] for row in table] == expected
    assert float(table[0]["latency_ms"]) >= float(table[-1]["latency_ms"])

    r = httpx.get(_url(seeded, "/export"), params={**view, "format": "jsonl"})
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert r.headers["content-type"] == "application/x-ndjson"
    assert [line["span_id"] for line in lines] == expected

    r = httpx.get(_url(seeded, "/export"), params={**view, "format": "parquet", "max_rows": 5})
    frame = pq.read_table(io.BytesIO(r.content))
    assert frame.column("span_id").to_pylist() == expected[:5]
    assert frame.column("total_tokens").to_pylist()[0] == next(
        row["total_tokens"] for row in lines if row["span_id"] == expected[0]
    )


def test_sdk_export_traces_streams_every_row_once_into_a_file(
    seeded: ServerProcess, tmp_path: Path
) -> None:
    with Client(seeded.url) as client:
        n = client.export_traces(PROJECT, tmp_path / "all.jsonl", format="jsonl", sort="cost")
    lines = (tmp_path / "all.jsonl").read_text().splitlines()
    assert n == (tmp_path / "all.jsonl").stat().st_size
    assert len(lines) == len({json.loads(line)["span_id"] for line in lines}) == 29


def test_sdk_traces_frame_and_page_match_the_rest_view(seeded: ServerProcess) -> None:
    with Client(seeded.url) as client:
        frame = client.traces_frame(PROJECT, sort="tokens", order="asc", model="gpt-4o")
        page = client.traces_page(PROJECT, sort="tokens", order="asc", model="gpt-4o", total=True)
        with pytest.raises(LlmpulseApiError) as err:
            client.traces_frame(PROJECT, min_tokens=9, max_tokens=1)
    expected = _walk(seeded, 100, sort="tokens", order="asc", model="gpt-4o")
    assert list(frame["span_id"]) == [r["span_id"] for r in expected]
    assert page["total"] == len(expected)
    assert [r["span_id"] for r in page["data"]] == [r["span_id"] for r in expected]
    assert str(frame["start_time"].dt.tz) == "UTC"
    assert err.value.status == 400
    assert err.value.errors[0].path.endswith("min_tokens")


def test_sdk_summary_page_has_the_rows_of_the_full_page_with_the_bulk_left_out(
    seeded: ServerProcess,
) -> None:
    with Client(seeded.url) as client:
        full = client.traces_page(PROJECT, sort="latency", limit=10)["data"]
        summary = client.traces_page(PROJECT, sort="latency", limit=10, fields="summary")["data"]
    assert [r["span_id"] for r in summary] == [r["span_id"] for r in full]
    assert [r["latency_ms"] for r in summary] == [r["latency_ms"] for r in full]
    assert [r["trace"] for r in summary] == [r["trace"] for r in full]
    assert all(r["attributes"] == {} and r["output_value"] is None for r in summary)
    assert any(r["attributes"] for r in full)


@pytest.mark.parametrize(
    ("sort", "first_three"),
    [
        # trace t's children cost 0.01(t+1) + 0.001c and carry 100(t+1) + c tokens; its root
        # lasts 900 + t ms and outlasts them; the lone spans are traces of their own.
        ("trace_cost", [("chain2", 0.061), ("chain1", 0.041), ("chain0", 0.021)]),
        ("trace_tokens", [("chain2", 601), ("chain1", 401), ("chain0", 201)]),
        ("trace_latency", [("chain2", 902.0), ("chain1", 901.0), ("chain0", 900.0)]),
    ],
)
def test_traces_sort_by_their_totals_over_rest_and_sdk(
    seeded: ServerProcess, sort: str, first_three: list[tuple[str, float]]
) -> None:
    field = {"trace_cost": "cost_usd", "trace_tokens": "total_tokens"}.get(sort, "latency_ms")
    rows = _walk(seeded, 5, sort=sort, order="desc")
    assert len(rows) == 23  # one root row per trace: 3 traces and 20 lone spans
    assert all(r["parent_span_id"] is None for r in rows)
    shown = [(r["name"], r["trace"][field]) for r in rows[:3]]
    assert [n for n, _ in shown] == [n for n, _ in first_three]
    assert [v for _, v in shown] == pytest.approx([v for _, v in first_three])
    values = [r["trace"][field] for r in rows]
    assert values == sorted(values, reverse=True)
    assert _walk(seeded, 7, sort=sort, order="asc") == rows[::-1]
    with Client(seeded.url) as client:
        page = client.traces_page(PROJECT, sort=sort, limit=3, total=True)
    assert [r["span_id"] for r in page["data"]] == [r["span_id"] for r in rows[:3]]
    assert page["total"] == 23  # traces, not spans


def test_a_bounded_count_says_when_it_stopped(seeded: ServerProcess) -> None:
    view = {"q": "lone", "total": "true"}  # the 20 lone spans' names only: no text matches
    body = httpx.get(_url(seeded), params={"kind": "LLM", "total": "true"}).json()
    assert (body["total"], body["total_capped"]) == (26, False)
    capped = httpx.get(_url(seeded), params={"kind": "LLM", "total": "true", "total_limit": 10})
    assert (capped.json()["total"], capped.json()["total_capped"]) == (10, True)
    exact = httpx.get(_url(seeded), params={"kind": "LLM", "total": "true", "total_limit": 26})
    assert (exact.json()["total"], exact.json()["total_capped"]) == (26, False)
    assert httpx.get(_url(seeded), params=view).json()["total"] == 0
    with Client(seeded.url) as client:
        page = client.traces_page(PROJECT, kind="LLM", total=True, total_limit=3)
    assert (page["total"], page["total_capped"]) == (3, True)


def test_sdk_search_summary_rows_carry_where_each_span_matched(
    live_server: ServerProcess,
) -> None:
    project = "search-rows"
    filler = "lorem ipsum dolor " * 20  # pushes the match past the input preview
    texts = {
        "in-input": {"input.value": "Which Reverse-Charge rule applies?"},
        "in-output": {"input.value": "a question", "output.value": filler + "Reverse-Charge."},
        "elsewhere": {"input.value": "nothing to find here"},
    }
    spans = [
        make_span(name, start_ns=BASE_NS + i * MS, attrs={"openinference.span.kind": "LLM", **a})
        for i, (name, a) in enumerate(texts.items())
    ]
    post_spans(live_server.url, spans, project)
    with Client(live_server.url) as client:
        full = client.search_spans(project, "reverse-CHARGE")
        summary = client.search_spans(project, "reverse-CHARGE", fields="summary")
    assert [r["name"] for r in summary["data"]] == ["in-output", "in-input"]
    assert [r["span_id"] for r in summary["data"]] == [r["span_id"] for r in full["data"]]
    assert summary["total"] == full["total"] == 2
    by_name = {r["name"]: r["match"].rstrip("\n") for r in summary["data"]}  # empty fields
    assert by_name["in-input"] == "which reverse-charge rule applies?"
    # 60 characters before the first match, and everything after it up to 200.
    assert by_name["in-output"] == (filler + "reverse-charge.")[-75:]
    assert all("match" not in r for r in full["data"])
