"""Shared helpers of the fault suite: send spans, remember what was acknowledged, read back."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from support.otlp import make_request, make_span
from support.server import ServerProcess

PB = {"content-type": "application/x-protobuf"}


def send(server: ServerProcess, project: str, n: int, size: int = 500) -> tuple[int, set[str]]:
    """Post ``n`` spans in one request; return the status and their span ids."""
    spans = [make_span(f"s{i}", attrs={"input.value": "x" * size}) for i in range(n)]
    body = make_request(spans, project).SerializeToString()
    r = httpx.post(f"{server.url}/v1/traces", content=body, headers=PB, timeout=30)
    return r.status_code, {s.span_id.hex() for s in spans}


def stored_ids(server: ServerProcess, project: str) -> list[str]:
    """Every stored span id of ``project`` (with repeats, if any span were stored twice)."""
    ids: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 1000}
        if cursor:
            params["cursor"] = cursor
        r = httpx.get(f"{server.url}/api/v1/projects/{project}/spans", params=params, timeout=30)
        assert r.status_code == 200, r.text
        page = r.json()
        ids.extend(s["span_id"] for s in page["data"])
        cursor = page["next_cursor"]
        if not cursor:
            return ids


def stored_count(server: ServerProcess, project: str) -> int:
    """Rows stored for ``project``, copies included (the span list shows each span once)."""
    r = httpx.get(f"{server.url}/api/v1/projects", timeout=30)
    assert r.status_code == 200, r.text
    counts = [p["num_spans"] for p in r.json()["data"] if p["name"] == project]
    return int(counts[0]) if counts else 0


def serve_once(data_dir: Path, timeout_s: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``llmpulse serve`` expecting it to refuse to start; return how it exited."""
    cmd = [sys.executable, "-m", "llmpulse", "serve", "--port", "0", "--grpc-port", "0"]
    return subprocess.run(
        [*cmd, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
