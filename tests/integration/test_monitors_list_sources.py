"""The monitors list (REST and SDK) shows every monitor the scheduler runs: the stored ones,
then those of ``LLMPULSE_MONITORS_FILE`` and the demo's defaults, read-only with their source;
a stored monitor of the same name overrides a file one."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from llmpulse import Client
from support.server import ServerProcess, free_port

pytestmark = [pytest.mark.integration]
PROJECT = "rag-demo"


def monitor(name: str, metric: str) -> dict[str, Any]:
    return {"apiVersion": "llmpulse/v1", "kind": "Monitor",
            "metadata": {"name": name, "project": PROJECT},
            "spec": {"metric": metric, "every": "5m", "window": "30m"}}  # fmt: skip


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    path = tmp_path / "monitors.yaml"
    docs = [monitor("from-file", "latency_ms:p99"), monitor("overridden", "latency_ms:p50")]
    path.write_text(yaml.safe_dump_all(docs), encoding="utf-8")
    srv = ServerProcess(
        tmp_path / "data", free_port(), 0, env={"LLMPULSE_MONITORS_FILE": str(path)},
        extra_args=["--demo"],
    )  # fmt: skip
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def test_file_and_demo_monitors_are_listed_read_only_with_their_source(
    server: ServerProcess,
) -> None:
    with Client(server.url) as client:
        client.apply([monitor("stored", "error:rate"), monitor("overridden", "count")])
        rows = client.list_monitors(PROJECT)
    got = [(r["metadata"]["name"], r["source"], r["read_only"]) for r in rows]
    assert got == [
        ("overridden", "stored", False),
        ("stored", "stored", False),
        ("from-file", "file", True),
        ("llm-latency-p95", "demo", True),
        ("error-rate", "demo", True),
        ("enterprise-llm-cost", "demo", True),
    ]
    by_name = {r["metadata"]["name"]: r for r in rows}
    assert by_name["overridden"]["spec"]["metric"] == "count"  # the stored one wins
    assert by_name["from-file"]["spec"] == monitor("from-file", "latency_ms:p99")["spec"]
    assert by_name["error-rate"]["spec"]["min_samples"] == 20
    assert client_list_other_project(server) == []
    cli = subprocess.run(
        [sys.executable, "-m", "llmpulse", "monitors", "list", PROJECT, "--url", server.url],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    lines = {line.split()[0]: line for line in cli.stdout.splitlines()}
    assert lines["from-file"].endswith("(read-only: file)")
    assert lines["error-rate"].endswith("(read-only: demo)")
    assert "read-only" not in lines["stored"]


def client_list_other_project(server: ServerProcess) -> list[Any]:
    with Client(server.url) as client:
        return client.list_monitors("elsewhere")
