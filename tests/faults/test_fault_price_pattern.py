"""Fault: a price pattern with catastrophic backtracking, and one from an older version.

Issue 9, item 10. Patterns are matched by RE2 (linear time): a classic backtracking pattern
against a long model name answers at once; a pattern RE2 cannot run is a 400 naming it on
upload; a stored pattern an older version accepted does not stop or freeze the server.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from llmpulse.store.datadir import open_stores
from support.otlp import make_request, make_span
from support.server import running_server

pytestmark = pytest.mark.integration
EVIL = r"^(a+)+$"
LONG_NAME = "a" * 5_000 + "!"  # Python's re needs ~2**5000 steps to fail this


def _table(*patterns: str) -> dict[str, object]:
    return {
        "prices": [{"match": p, "input": "0.000001", "output": "0.000002"} for p in patterns]
        + [{"model": "gpt-test", "input": "0.000001", "output": "0.000002"}]
    }


def _ingest_timed(url: str, project: str, model: str) -> float:
    span = make_span("llm", attrs={"llm.model_name": model, "llm.token_count.prompt": 10})
    start = time.perf_counter()
    r = httpx.post(
        f"{url}/v1/traces",
        content=make_request([span], project).SerializeToString(),
        headers={"content-type": "application/x-protobuf"},
        timeout=60,
    )
    elapsed = time.perf_counter() - start
    assert r.status_code == 200, r.text
    return elapsed


def test_backtracking_pattern_answers_fast_and_unsupported_one_is_a_400(tmp_path: Path) -> None:
    with running_server(tmp_path / "data") as server:
        put = httpx.put(f"{server.url}/api/v1/prices", json=_table(EVIL))
        assert put.status_code == 200, put.text
        assert _ingest_timed(server.url, f"re-{uuid.uuid4().hex[:6]}", LONG_NAME) < 2.0
        assert httpx.get(f"{server.url}/healthz", timeout=2).status_code == 200
        bad = httpx.put(f"{server.url}/api/v1/prices", json=_table(r"(gpt)-\1"))
        assert bad.status_code == 400
        errors = bad.json()["errors"]
        assert [e["path"] for e in errors] == ["prices[0].match"]
        assert "RE2" in errors[0]["message"]
        assert "pattern '(gpt)-" in errors[0]["message"]  # the pattern itself is named


def test_stored_pattern_from_an_older_version_neither_stops_nor_freezes_start(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    with running_server(data):
        pass  # create and migrate the data directory
    events, state = open_stores(data)
    # What an older version stored: Python regexes, one RE2 refuses, one that backtracks.
    state.put_document(
        "prices",
        "overrides",
        json.dumps(_table(r"(?=gpt)gpt-x", EVIL)),
        datetime(2026, 1, 1, tzinfo=UTC),
    )
    events.close()
    state.close()
    with running_server(data) as server:
        prices = httpx.get(f"{server.url}/api/v1/prices").json()["overrides"]
        kept = [p.get("match") or p.get("model") for p in prices["prices"]]
        assert kept == [EVIL, "gpt-test"]
        assert _ingest_timed(server.url, f"old-{uuid.uuid4().hex[:6]}", LONG_NAME) < 2.0
        assert "(?=gpt)gpt-x" in server.log_text()
