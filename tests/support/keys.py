"""API keys for tests, written into a data directory before its server starts."""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Any

import httpx

from llmpulse.clock import SystemClock
from llmpulse.domain.keys import Scope
from llmpulse.governance.keys import KeyService
from llmpulse.store.datadir import DataDir
from llmpulse.store.state.sql import SqlStateStore

BASE_NS = 1_763_900_000_000_000_000


def create_keys(data_dir: Path, specs: dict[str, tuple[str, str | None]]) -> dict[str, str]:
    """Create keys ``{label: (comma-separated scopes, project or None)}``; return their tokens."""
    layout = DataDir(data_dir)
    layout.prepare()
    state = SqlStateStore(layout.state_url)
    try:
        keys = KeyService(state, SystemClock())
        out = {}
        for label, (scopes, project) in specs.items():
            wanted = frozenset(Scope(s) for s in scopes.split(","))
            out[label] = keys.create(label, wanted, project).token
        return out
    finally:
        state.close()


def otlp_body(project: str | None, n: int = 2) -> tuple[dict[str, Any], str, list[str]]:
    """An OTLP/JSON body of one trace with ``n`` spans; returns it, the trace id, the span ids."""
    trace_id = secrets.token_hex(16)
    span_ids = [secrets.token_hex(8) for _ in range(n)]
    attrs = [{"key": "openinference.project.name", "value": {"stringValue": project}}]
    spans = [
        {
            "traceId": trace_id,
            "spanId": sid,
            "name": f"step-{i}",
            "startTimeUnixNano": str(BASE_NS + i * 1_000_000),
            "endTimeUnixNano": str(BASE_NS + i * 1_000_000 + 500_000),
            "attributes": [{"key": "openinference.span.kind", "value": {"stringValue": "LLM"}}],
        }
        for i, sid in enumerate(span_ids)
    ]
    resource = {"attributes": attrs if project else []}
    body = {"resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": spans}]}]}
    return body, trace_id, span_ids


def post_otlp(url: str, token: str | None, body: dict[str, Any]) -> httpx.Response:
    """POST an OTLP/JSON body, with a Bearer token when given."""
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    return httpx.post(f"{url}/v1/traces", content=json.dumps(body), headers=headers, timeout=30)


def wait_for_span(url: str, token: str, span_id: str, timeout_s: float = 10.0) -> dict[str, Any]:
    """The stored span, polled until it is visible."""
    deadline = time.monotonic() + timeout_s
    while True:
        r = httpx.get(f"{url}/api/v1/spans/{span_id}", headers={"authorization": f"Bearer {token}"})
        if r.status_code == 200:
            data: dict[str, Any] = r.json()
            return data
        assert time.monotonic() < deadline, r.text
        time.sleep(0.1)
