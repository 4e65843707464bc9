"""The monitor runtime over a real server: backtest (REST, SDK, CLI contract), alert series,
incidents, notifications and the scheduler's health, on demo data with a fixed end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from llmpulse import Client
from support.demo_monitor import LATENCY_MONITOR, running_latency_monitor_server
from support.server import ServerProcess

pytestmark = [pytest.mark.integration, pytest.mark.slow]
END = "2026-11-21T00:00:00Z"
START = "2026-11-19T12:00:00Z"
MONITOR = LATENCY_MONITOR


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_latency_monitor_server(tmp_path_factory.mktemp("alerts")) as srv:
        yield srv


def _cli(server: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llmpulse", *args, "--url", server.url],
        capture_output=True, text=True, timeout=300, env=dict(os.environ), check=False,
    )  # fmt: skip


def test_cli_backtest_prints_the_contract_json_array(server: ServerProcess, tmp_path: Path) -> None:
    path = tmp_path / "monitor.yaml"
    path.write_text(yaml.safe_dump(MONITOR), encoding="utf-8")
    out = _cli(server, "monitors", "backtest", "-f", str(path), "--start", START, "--end", END,
               "--json")  # fmt: skip
    assert out.returncode == 0, out.stderr
    alerts = json.loads(out.stdout)
    assert isinstance(alerts, list)
    assert alerts, "the planted eu-west latency spike (end-30h to end-28h) was not found"
    for a in alerts:
        assert set(a) == {"start", "end", "labels", "value", "baseline", "bounds"}
        assert a["labels"]["alertname"] == "llm-latency"
    spike = [a for a in alerts if a["labels"]["metadata.region"] == "eu-west"
             and "2026-11-19T18:00:00Z" <= a["start"] < "2026-11-19T20:00:00Z"]  # fmt: skip
    assert len(spike) == 1
    assert spike[0]["value"] > spike[0]["bounds"][1] > spike[0]["baseline"]


def test_error_rate_backtest_with_min_samples_over_rest(server: ServerProcess) -> None:
    manifest = {
        **MONITOR,
        "metadata": {"name": "errors"},  # the project comes from the URL
        "spec": {"metric": "error:rate", "filters": ["root_only=true"], "every": "5m",
                 "window": "30m", "min_samples": 20},
    }  # fmt: skip
    with Client(server.url) as client:
        body = client.backtest_monitor(
            "rag-demo", manifest, "2026-11-17T12:00:00Z", "2026-11-17T20:00:00Z"
        )
    starts = [a["start"] for a in body["alerts"]]
    assert any("2026-11-17T15:00:00Z" <= s <= "2026-11-17T15:10:00Z" for s in starts), starts
    assert body["series"][0]["points"][0]["outcome"] in ("normal", "no_data", "breached")


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"spec": {**MONITOR["spec"], "window": "soon"}}, "spec.window"),
        ({"spec": {**MONITOR["spec"], "metric": "latency_ms:p42"}}, "spec.metric"),
        ({"metadata": {"name": "x", "project": "other"}}, "metadata.project"),
        ({"spec": {**MONITOR["spec"], "filters": ["colour=red"]}}, "spec.filters[0]"),
    ],
)
def test_bad_backtest_input_is_a_400_naming_the_field(
    server: ServerProcess, change: dict[str, Any], path: str
) -> None:
    r = httpx.post(
        f"{server.url}/api/v1/projects/rag-demo/monitors/backtest",
        params={"start": START, "end": END},
        json={**MONITOR, **change},
        timeout=60,
    )
    assert r.status_code == 400, r.text
    assert path in [e["path"] for e in r.json()["errors"]]


def test_scheduler_runs_the_file_monitor_and_its_state_is_readable(server: ServerProcess) -> None:
    with Client(server.url) as client:
        deadline = time.monotonic() + 60
        alerts: list[dict[str, Any]] = []
        while time.monotonic() < deadline and not alerts:
            alerts = client.list_alerts("rag-demo")
            time.sleep(0.5)
        incidents = client.list_incidents("rag-demo", monitor="llm-latency", state="no_data")
        notifications = client.list_notifications("rag-demo")
    # The demo ended in November: no span falls in today's windows, and no-data is never
    # read as normal.
    assert alerts
    assert {a["monitor"] for a in alerts} == {"llm-latency"}
    assert {a["status"] for a in alerts} == {"no_data"}
    assert incidents
    assert incidents[0]["evidence"]["detector"] == "adaptive"
    assert incidents[0]["evidence"]["window_end"] is not None
    assert notifications == []
    health = httpx.get(f"{server.url}/healthz", timeout=30).json()["scheduler"]
    assert health["running"] is True
    assert health["cycles"] >= 1
    assert health["failures"] == 0
    assert health["queries"] >= 2
    out = _cli(server, "alerts", "list", "rag-demo")
    assert out.returncode == 0, out.stderr
    assert "no_data" in out.stdout
