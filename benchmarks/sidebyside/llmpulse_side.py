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
from sidebyside.variants import params_for
from sidebyside.workload import WorkloadSpec

REPO = Path(__file__).resolve().parents[2]
INSTALL_SIZE_SCRIPT = str(Path(__file__).with_name("install_size.py"))


def iso(ns: int) -> str:
    """Epoch nanoseconds as an ISO 8601 UTC timestamp (a query parameter)."""
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).isoformat()


def _window(window: tuple[int, int]) -> list[tuple[str, str]]:
    return [("start", iso(window[0])), ("end", iso(window[1]))]


class LlmpulseSystem:
    """``llmpulse serve`` with its embedded store in a temporary data directory."""

    name = "llmpulse"
    poll_interval_s = 0.25
    approx_quantiles = True
    """Ask for latency quantiles with ``approx=true`` (the span sketch, within 1 %, ADR 0021);
    ``run.py --exact-quantiles`` turns it off."""

    def __init__(self, spec: WorkloadSpec, executable: Path | None = None) -> None:
        """Pick a port; ``executable`` defaults to ``llmpulse`` beside this interpreter."""
        self.spec = spec
        self.exe = executable or Path(sys.executable).parent / "llmpulse"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"

    @classmethod
    def on_loaded(
        cls, data_dir: Path, spans: int, executable: Path | None = None
    ) -> LlmpulseSystem:
        """The system for ``data_dir``, loaded with ``spans`` spans by an earlier run (its
        ``base_ns`` file names the workload's start), its executable checked (`prepare`)."""
        base_ns = int((data_dir / "base_ns").read_text())
        ours = cls(
            WorkloadSpec.for_spans(spans, traces_per_request=100, base_ns=base_ns), executable
        )
        ours.prepare()
        return ours

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

    def spans_page(self, client: QueryClient, params: list[tuple[str, str]]) -> int:
        """How many spans a page of 100 with ``params`` lists."""
        url = f"{self.base}/api/v1/projects/{self.spec.project}/spans"
        return len(client.get(url, [("limit", "100"), *params]).json()["data"])

    def list_latest(self, client: QueryClient, k: int | None = None) -> int:
        """REST: the 100 newest spans (run ``k``: starting before a varying end)."""
        end = params_for(self.spec, k).list_end
        return self.spans_page(client, [] if end is None else [("end", iso(end))])

    def metadata_filter(self, client: QueryClient, k: int | None = None) -> int:
        """``attr=metadata.<key>:<value>`` over a window: the count and the 100 newest."""
        p = params_for(self.spec, k)
        scope = [("attr", f"metadata.region:{p.region}"), *_window(p.metadata_window)]
        body = self._metrics(client, [("metric", "count"), *scope])
        count = int(body["rows"][0]["n"]) if body["rows"] else 0
        listed = self.spans_page(client, scope)
        if count < listed:
            raise RuntimeError(f"count {count} below the {listed} spans listed")
        return listed

    def _metrics(self, client: QueryClient, params: list[tuple[str, str]]) -> Any:
        url = f"{self.base}/api/v1/projects/{self.spec.project}/metrics"
        return client.get(url, params).json()

    def latency_quantiles(self, client: QueryClient, k: int | None = None) -> int:
        """p50 and p99 of root-span (trace) latency, as Phoenix's ``latencyMsQuantile``."""
        params = [("metric", "latency_ms:p50"), ("metric", "latency_ms:p99"), ("root_only", "true")]
        params += [("approx", "true")] if self.approx_quantiles else []
        body = self._metrics(client, params + _window(params_for(self.spec, k).latency_window))
        return sum(v is not None for row in body["rows"] for v in row["values"].values())

    def hourly_counts(self, client: QueryClient, k: int | None = None) -> int:
        """Span counts per hour over 7 days ending after the newest span (buckets with spans)."""
        params = [("metric", "count"), ("bucket", "1h")]
        body = self._metrics(client, params + _window(params_for(self.spec, k).hourly_window))
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
