"""The latency monitor that the alert API and monitor-page tests run over four days of demo
data with a fixed end: it catches the demo's planted eu-west latency spike (end-30h to
end-28h)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from support.server import ServerProcess, running_demo_server

DEMO_END = "2026-11-21T00:00:00+0000"
LATENCY_MONITOR: dict[str, Any] = {
    "apiVersion": "llmpulse/v1",
    "kind": "Monitor",
    "metadata": {"name": "llm-latency", "project": "rag-demo"},
    "spec": {
        "metric": "latency_ms:p95",
        "filters": ["kind=llm"],
        "segment_by": "metadata.region",
        "every": "5m",
        "window": "30m",
        "for": "15m",
    },
}


@contextmanager
def running_latency_monitor_server(root: Path) -> Iterator[ServerProcess]:
    """A server on four days of demo data ending at `DEMO_END` in ``root / "data"``, running
    `LATENCY_MONITOR` from a monitors file."""
    path = root / "monitors.yaml"
    path.write_text(yaml.safe_dump(LATENCY_MONITOR), encoding="utf-8")
    with running_demo_server(root / "data", 4, DEMO_END, ("--monitors-file", str(path))) as server:
        yield server
