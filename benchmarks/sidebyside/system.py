"""What the measurement loop needs from each system under test."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import httpx

from sidebyside.procmon import ServerProcess
from sidebyside.query_client import NotAvailable, QueryClient

# A timed query returns how many items it got back (rows, buckets or quantiles) as a sanity
# check. It runs on the benchmark's own lightweight client (see `sidebyside.query_client`).
# The int is the run number of a cold series (its parameters vary, `sidebyside.variants`);
# None asks the fixed question of the cached series.
QueryFn = Callable[[QueryClient, int | None], int]

QUERY_NAMES = ("list_latest_100", "latency_p50_p99", "metadata_filter_100", "hourly_counts")


@dataclass(frozen=True, slots=True)
class InstallSize:
    """Bytes and distributions a system needs in its venv."""

    num_bytes: int
    num_distributions: int
    how: str


class System(Protocol):
    """One server under test, driven over HTTP only."""

    name: str
    poll_interval_s: float

    def prepare(self) -> None:
        """Install whatever is missing (may take minutes)."""

    def make_server(self, data_dir: Path, log_path: Path) -> ServerProcess:
        """A not-yet-started server storing into ``data_dir``."""

    def otlp_url(self) -> str:
        """Where OTLP/HTTP protobuf is posted."""

    async def count_spans(self, client: httpx.AsyncClient) -> int:
        """Spans of the benchmark project that queries can see now."""

    def queries(self) -> dict[str, QueryFn]:
        """The timed queries, keyed by the names in ``QUERY_NAMES``."""

    def install_size(self) -> InstallSize:
        """What installing the system costs on disk."""


def expect_ok(resp: httpx.Response) -> httpx.Response:
    """Raise NotAvailable on 404/405, an error on any other non-2xx (httpx, for counting;
    `QueryClient` checks the timed queries' answers the same way)."""
    if resp.status_code in (404, 405):
        raise NotAvailable(f"{resp.request.method} {resp.request.url.path} → {resp.status_code}")
    resp.raise_for_status()
    return resp
