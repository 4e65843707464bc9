"""`llmpulse gate` and ``GET …/gate`` against a real server: exit 1 on a planted error-rate
regression, exit 0 on an unchanged version (issue 11 item 7)."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import uuid

import httpx
import pytest

from llmpulse.clock import SystemClock
from llmpulse.sdk.client import Client
from support.otlp import make_request, make_span
from support.server import ServerProcess

pytestmark = pytest.mark.integration


def _send(server: ServerProcess, project: str, v2_error_every: int) -> None:
    """Two hours of interleaved v1/v2 requests, 600 each; v1 fails 1 in 100."""
    rng = random.Random(3)
    now_ns = int(SystemClock().now().timestamp() * 1e9)
    spans = []
    for i in range(1200):
        version = ("v1", "v2")[i % 2]
        every = 100 if version == "v1" else v2_error_every
        spans.append(
            make_span(
                "answer",
                start_ns=now_ns - int((7200 - 6 * i) * 1e9),
                duration_ns=int(rng.lognormvariate(6.0, 0.4) * 1e6),
                attrs={"service.version": version},
                error=(i // 2) % every == 7,
            )
        )
    r = httpx.post(
        f"{server.url}/v1/traces",
        content=make_request(spans, project).SerializeToString(),
        headers={"content-type": "application/x-protobuf"},
    )
    assert r.status_code == 200


def _cli(server: ServerProcess, project: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llmpulse", "gate", "--project", project, "--version", "v2",
         "--window", "3h", "--url", server.url, "--json"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_gate_fails_an_error_regression_and_passes_an_unchanged_version(
    live_server: ServerProcess,
) -> None:
    worse, same = f"gate-{uuid.uuid4().hex[:6]}", f"gate-{uuid.uuid4().hex[:6]}"
    _send(live_server, worse, 20)  # v2 fails 1 in 20
    _send(live_server, same, 100)
    failed = _cli(live_server, worse)
    assert failed.returncode == 1, failed.stderr
    body = json.loads(failed.stdout)
    assert body["baseline"] == "v1"
    assert {g["metric"]: g["verdict"] for g in body["guard_rails"]}["error:rate"] == "worse"
    passed = _cli(live_server, same)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert json.loads(passed.stdout)["passed"] is True
    with Client(live_server.url) as client:
        assert client.gate(worse, "v2", window="3h")["passed"] is False
    r = httpx.get(f"{live_server.url}/api/v1/projects/{same}/gate", params={"version": "v9"})
    assert r.status_code == 400  # a version with no traffic is never promoted: it is unknown
    assert "v9" in r.text  # named,
    assert "v1" in r.text  # with the known versions suggested
    bad = httpx.get(f"{live_server.url}/api/v1/projects/{same}/gate",
                    params={"version": "v2", "window": "soon"})  # fmt: skip
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["path"] == "window"
