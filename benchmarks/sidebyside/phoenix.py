"""Arize Phoenix under test: its own venv, ``phoenix serve``, REST and GraphQL queries.

Phoenix is never imported: it runs from ``benchmarks/.phoenix-venv`` (created here with
``python3 -m venv`` and ``pip install arize-phoenix`` when missing) as a separate process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from sidebyside.procmon import ServerProcess, free_port
from sidebyside.query_client import NotAvailable, QueryClient
from sidebyside.system import InstallSize, QueryFn, expect_ok
from sidebyside.variants import params_for
from sidebyside.workload import WorkloadSpec

VENV = Path(__file__).resolve().parent.parent / ".phoenix-venv"
INSTALL_SIZE_SCRIPT = str(Path(__file__).with_name("install_size.py"))
_COUNT = "query($n: String!) { getProjectByName(name: $n) { recordCount } }"
_QUANTILES = """query($n: String!, $start: DateTime!, $end: DateTime!) {
  getProjectByName(name: $n) {
  p50: latencyMsQuantile(probability: 0.5, timeRange: {start: $start, end: $end})
  p99: latencyMsQuantile(probability: 0.99, timeRange: {start: $start, end: $end}) } }"""
_FILTERED_COUNT = """query($n: String!, $start: DateTime!, $end: DateTime!, $f: String!) {
  getProjectByName(name: $n) {
    recordCount(timeRange: {start: $start, end: $end}, filterCondition: $f) } }"""
_HOURLY = """query($n: String!, $start: DateTime!, $end: DateTime!) { getProjectByName(name: $n) {
  spanCountTimeSeries(timeRange: {start: $start, end: $end}, timeBinConfig: {scale: HOUR}) {
    data { timestamp totalCount } } } }"""


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).isoformat()


def _project(payload: Any) -> Any:
    """``data.getProjectByName`` of a GraphQL answer; GraphQL errors raise."""
    if payload.get("errors"):
        raise RuntimeError(f"GraphQL errors: {json.dumps(payload['errors'])[:300]}")
    return payload["data"]["getProjectByName"]


class PhoenixSystem:
    """Phoenix ``serve`` with SQLite in a temporary working directory."""

    name = "phoenix"
    poll_interval_s = 1.0

    def __init__(self, spec: WorkloadSpec) -> None:
        """Ports are picked now; nothing is started."""
        self.spec = spec
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"

    def prepare(self) -> None:
        """Create the venv and install arize-phoenix unless it is there."""
        if (VENV / "bin" / "phoenix").exists():
            return
        print(f"  installing arize-phoenix into {VENV} (~80 s, ~770 MiB) …", file=sys.stderr)
        subprocess.run(["python3", "-m", "venv", str(VENV)], check=True)
        log = VENV.parent / ".phoenix-install.log"
        with log.open("wb") as out:
            subprocess.run(
                [str(VENV / "bin" / "pip"), "install", "-q", "arize-phoenix"],
                check=True,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def version(self) -> str:
        """The installed arize-phoenix version."""
        code = "import importlib.metadata as m; print(m.version('arize-phoenix'))"
        out = subprocess.run([str(VENV / "bin" / "python"), "-c", code], capture_output=True)
        return out.stdout.decode().strip()

    def make_server(self, data_dir: Path, log_path: Path) -> ServerProcess:
        """``phoenix serve`` on free ports with its data in ``data_dir``."""
        env = {
            **os.environ,
            "PHOENIX_WORKING_DIR": str(data_dir),
            "PHOENIX_HOST": "127.0.0.1",
            "PHOENIX_PORT": str(self.port),
            "PHOENIX_GRPC_PORT": str(free_port()),
            "PHOENIX_TELEMETRY_ENABLED": "false",
        }
        argv = [str(VENV / "bin" / "phoenix"), "serve"]
        return ServerProcess(argv, env, log_path, f"{self.base}/healthz")

    def otlp_url(self) -> str:
        """OTLP/HTTP on the UI port."""
        return f"{self.base}/v1/traces"

    def _graphql_body(self, query: str, **variables: Any) -> dict[str, Any]:
        return {"query": query, "variables": {"n": self.spec.project, **variables}}

    def _graphql(self, client: QueryClient, query: str, **variables: Any) -> Any:
        reply = client.post_json(f"{self.base}/graphql", self._graphql_body(query, **variables))
        return _project(reply.json())

    async def count_spans(self, client: httpx.AsyncClient) -> int:
        """``recordCount`` of the project (all spans), 0 before it exists."""
        resp = await client.post(f"{self.base}/graphql", json=self._graphql_body(_COUNT))
        project = _project(expect_ok(resp).json())
        return int(project["recordCount"]) if project else 0

    def _rest_spans(self, client: QueryClient, **params: Any) -> int:
        url = f"{self.base}/v1/projects/{self.spec.project}/spans"
        params = {"limit": 100, "sort": "start_time", "order": "desc", **params}
        return len(client.get(url, params).json()["data"])

    def list_latest(self, client: QueryClient, k: int | None = None) -> int:
        """REST: the 100 most recent spans by start time (run ``k``: before a varying end)."""
        end = params_for(self.spec, k).list_end
        return self._rest_spans(client, **({} if end is None else {"end_time": _iso(end)}))

    def latency_quantiles(self, client: QueryClient, k: int | None = None) -> int:
        """GraphQL ``latencyMsQuantile`` at 0.5 and 0.99 (Phoenix: trace latency)."""
        start, end = params_for(self.spec, k).latency_window
        project = self._graphql(client, _QUANTILES, start=_iso(start), end=_iso(end))
        return sum(project[key] is not None for key in ("p50", "p99"))

    def metadata_filter(self, client: QueryClient, k: int | None = None) -> int:
        """``recordCount`` with a metadata filter condition, then the 100 newest by REST."""
        p = params_for(self.spec, k)
        start, end = _iso(p.metadata_window[0]), _iso(p.metadata_window[1])
        cond = f"metadata['region'] == '{p.region}'"
        project = self._graphql(client, _FILTERED_COUNT, start=start, end=end, f=cond)
        listed = self._rest_spans(
            client, attribute=f"metadata.region:{p.region}", start_time=start, end_time=end
        )
        if project is None or int(project["recordCount"]) < listed:
            raise RuntimeError(f"recordCount {project} below the {listed} spans listed")
        return listed

    def hourly_counts(self, client: QueryClient, k: int | None = None) -> int:
        """GraphQL ``spanCountTimeSeries`` binned by hour over 7 days."""
        start, end = params_for(self.spec, k).hourly_window
        project = self._graphql(client, _HOURLY, start=_iso(start), end=_iso(end))
        if project is None:
            raise NotAvailable("project not found")
        return sum(1 for p in project["spanCountTimeSeries"]["data"] if p["totalCount"])

    def queries(self) -> dict[str, QueryFn]:
        """The four timed queries."""
        return {
            "list_latest_100": self.list_latest,
            "latency_p50_p99": self.latency_quantiles,
            "metadata_filter_100": self.metadata_filter,
            "hourly_counts": self.hourly_counts,
        }

    def install_size(self) -> InstallSize:
        """Closure of ``arize-phoenix`` in its venv (files listed in each RECORD)."""
        out = subprocess.run(
            [str(VENV / "bin" / "python"), INSTALL_SIZE_SCRIPT, "arize-phoenix"],
            capture_output=True,
            check=True,
        )
        data = json.loads(out.stdout)
        how = f"arize-phoenix {self.version()} and its dependencies"
        return InstallSize(data["bytes"], len(data["distributions"]), how)
