"""llmpulse under test: ``llmpulse serve`` from the venv running the benchmark, REST queries.

Quantiles and hourly counts use ``GET /api/v1/projects/{project}/metrics``; an endpoint that
answers 404 (an older server) is reported as n/a rather than failing the run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from sidebyside.procmon import ServerProcess, dir_size_bytes, free_port
from sidebyside.query_client import NotAvailable, QueryClient
from sidebyside.system import InstallSize, QueryFn, expect_ok
from sidebyside.workload import WorkloadSpec

REPO = Path(__file__).resolve().parents[2]
INSTALL_SIZE_SCRIPT = str(Path(__file__).with_name("install_size.py"))


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).isoformat()


class LlmpulseSystem:
    """``llmpulse serve`` with its embedded store in a temporary data directory."""

    name = "llmpulse"
    poll_interval_s = 0.25

    def __init__(self, spec: WorkloadSpec, executable: Path | None = None) -> None:
        """Pick a port; ``executable`` defaults to ``llmpulse`` beside this interpreter."""
        self.spec = spec
        self.exe = executable or Path(sys.executable).parent / "llmpulse"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"

    def prepare(self) -> None:
        """Check the executable exists (the project's venv provides it)."""
        if not self.exe.exists():
            raise FileNotFoundError(f"{self.exe} missing: pip install -e . into the venv first")

    def make_server(self, data_dir: Path, log_path: Path) -> ServerProcess:
        """``llmpulse serve`` on a free port, OTLP/gRPC off."""
        argv = [str(self.exe), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        argv += ["--data-dir", str(data_dir), "--grpc-port", "0"]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        return ServerProcess(argv, env, log_path, f"{self.base}/healthz")

    def otlp_url(self) -> str:
        """OTLP/HTTP on the main port."""
        return f"{self.base}/v1/traces"

    async def count_spans(self, client: httpx.AsyncClient) -> int:
        """Spans of the project, by the ``count`` metric (0 before the project exists).

        A count only, as Phoenix's ``recordCount``: the projects list also counts distinct
        traces over the whole table, which at millions of spans costs ~0.5 s of CPU a call,
        and this poll runs four times a second while spans arrive.
        """
        url = f"{self.base}/api/v1/projects/{self.spec.project}/metrics"
        try:
            rows = expect_ok(await client.get(url, params={"metric": "count"})).json()["rows"]
        except NotAvailable:  # no such project yet
            return 0
        return int(rows[0]["n"]) if rows else 0

    def _spans(self, client: QueryClient, **params: Any) -> int:
        url = f"{self.base}/api/v1/projects/{self.spec.project}/spans"
        return len(client.get(url, {"limit": 100, **params}).json()["data"])

    def list_latest(self, client: QueryClient) -> int:
        """REST: the 100 newest spans."""
        return self._spans(client)

    def metadata_filter(self, client: QueryClient) -> int:
        """REST with ``attr=metadata.region:eu-west``, 100 newest matches."""
        return self._spans(client, attr="metadata.region:eu-west")

    def _metrics(self, client: QueryClient, params: list[tuple[str, str]]) -> Any:
        url = f"{self.base}/api/v1/projects/{self.spec.project}/metrics"
        return client.get(url, params).json()

    def _window(self) -> list[tuple[str, str]]:
        end = self.spec.base_ns + self.spec.duration_ns + 3_600_000_000_000
        return [("start", _iso(self.spec.base_ns)), ("end", _iso(end))]

    def latency_quantiles(self, client: QueryClient) -> int:
        """p50 and p99 of root-span (trace) latency, as Phoenix's ``latencyMsQuantile``."""
        params = [("metric", "latency_ms:p50"), ("metric", "latency_ms:p99"), ("root_only", "true")]
        body = self._metrics(client, params)
        return sum(v is not None for row in body["rows"] for v in row["values"].values())

    def hourly_counts(self, client: QueryClient) -> int:
        """Span counts per hour over the workload's time span (buckets with spans)."""
        params = [("metric", "count"), ("bucket", "1h"), *self._window()]
        body = self._metrics(client, params)
        return sum(1 for row in body["rows"] if row["n"])

    def queries(self) -> dict[str, QueryFn]:
        """The four timed queries."""
        return {
            "list_latest_100": self.list_latest,
            "latency_p50_p99": self.latency_quantiles,
            "metadata_filter_100": self.metadata_filter,
            "hourly_counts": self.hourly_counts,
        }

    def install_size(self) -> InstallSize:
        """Closure of the runtime dependencies in pyproject.toml, plus llmpulse's own code."""
        deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
        out = subprocess.run(
            [sys.executable, INSTALL_SIZE_SCRIPT, *deps], capture_output=True, check=True
        )
        data = json.loads(out.stdout)
        own = dir_size_bytes(REPO / "src" / "llmpulse")
        how = "runtime dependencies of pyproject.toml (no extras) + src/llmpulse"
        return InstallSize(data["bytes"] + own, len(data["distributions"]) + 1, how)
