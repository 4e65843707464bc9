"""The timed queries' client against a stdlib HTTP/1.1 server on loopback."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

import sidebyside.query_client as qc
from sidebyside.measure import time_query
from sidebyside.phoenix import PhoenixSystem
from sidebyside.query_client import NotAvailable, QueryClient, QueryFailed
from sidebyside.variants import params_for
from sidebyside.workload import REGIONS, WorkloadSpec


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    # Each connection by its client's (host, port): an ``id`` of a closed socket object can be
    # the id of the next one, which once counted two connections as one.
    connections: set[tuple[str, int]] = set()  # noqa: RUF012 - shared by the server's threads
    seen: list[dict[str, Any]] = []  # noqa: RUF012

    def _answer(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        _Handler.connections.add(self.client_address[:2])
        self._record(b"")
        status = {"/missing": 404, "/broken": 500}.get(self.path.split("?")[0], 200)
        self._answer(status, {"data": [1, 2, 3], "path": self.path})

    def do_POST(self) -> None:
        _Handler.connections.add(self.client_address[:2])
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self._record(body)
        if self.path != "/graphql":
            self._answer(200, {"echo": json.loads(body)})
            return
        project = {"recordCount": 7, "p50": 12.5, "p99": None}  # a quantile may be null
        self._answer(200, {"data": {"getProjectByName": project}})

    def _record(self, body: bytes) -> None:
        _Handler.seen.append({"path": self.path, "headers": dict(self.headers), "body": body})

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def base() -> Iterator[str]:
    _Handler.connections.clear()
    _Handler.seen.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_client_reuses_one_connection_for_gets_and_json_posts(base: str) -> None:
    with QueryClient() as client:
        reply = client.get(f"{base}/spans", [("metric", "a"), ("metric", "b"), ("limit", 100)])
        assert reply.json()["path"] == "/spans?metric=a&metric=b&limit=100"
        assert client.post_json(f"{base}/echo", {"query": "q"}).json() == {"echo": {"query": "q"}}
        assert client.get(f"{base}/spans").json()["path"] == "/spans"
        assert client.wire_s > 0
    assert len(_Handler.connections) == 1
    post = _Handler.seen[1]
    assert post["headers"]["Content-Type"] == "application/json"
    assert post["headers"]["Accept-Encoding"] == "identity"  # no server compresses


def test_client_raises_not_available_on_404_and_failed_on_other_errors(base: str) -> None:
    with QueryClient() as client:
        with pytest.raises(NotAvailable, match="404"):
            client.get(f"{base}/missing")
        with pytest.raises(QueryFailed, match="500"):
            client.get(f"{base}/broken")
        assert client.get(f"{base}/ok").status == 200  # the connection is still usable


def test_time_query_records_wire_times_and_errors_like_before(base: str) -> None:
    ok = time_query(lambda c, k: len(c.get(f"{base}/spans").json()["data"]), repeat=5)
    assert (ok.num_results, ok.error, len(ok.samples_ms)) == (3, None, 5)
    assert all(0 < s < 1000 for s in ok.samples_ms)

    missing = time_query(lambda c, k: len(c.get(f"{base}/missing").json()), repeat=5)
    assert str(missing.error).startswith("n/a:")
    assert (missing.samples_ms, missing.median_ms) == ([], None)

    broken = time_query(lambda c, k: len(c.get(f"{base}/broken").json()), repeat=5)
    assert str(broken.error).startswith("failed: QueryFailed")

    refused = time_query(lambda c, k: len(c.get("http://127.0.0.1:9/x").json()), repeat=5)
    assert str(refused.error).startswith("failed: ConnectionRefused")


def test_phoenix_queries_go_through_the_query_client_and_counting_through_httpx(
    base: str,
) -> None:
    phoenix = PhoenixSystem(WorkloadSpec.for_spans(300))
    phoenix.base = base  # the fake speaks the bits of Phoenix's REST and GraphQL used here
    timed = {name: time_query(fn, repeat=3) for name, fn in phoenix.queries().items()}
    assert timed["latency_p50_p99"].num_results == 1
    assert timed["list_latest_100"].num_results == 3
    graphql = json.loads(next(s["body"] for s in _Handler.seen if s["path"] == "/graphql"))
    assert "latencyMsQuantile" in graphql["query"]
    assert graphql["variables"] == {
        "n": "rag-bench",
        "start": "2025-01-01T00:00:00+00:00",
        "end": "2025-01-02T01:00:00+00:00",
    }
    spans = next(s for s in _Handler.seen if s["path"].startswith("/v1/projects/"))
    assert spans["path"] == "/v1/projects/rag-bench/spans?limit=100&sort=start_time&order=desc"

    async def count() -> int:
        async with httpx.AsyncClient() as client:
            return await phoenix.count_spans(client)

    assert asyncio.run(count()) == 7


def test_cold_runs_never_repeat_a_question_and_the_cached_run_always_does() -> None:
    spec = WorkloadSpec.for_spans(30_000)
    cold = [params_for(spec, k) for k in range(200)]
    for field in ("list_end", "latency_window", "metadata_window", "hourly_window"):
        assert len({getattr(p, field) for p in cold}) == 200, field
    assert {p.region for p in cold[:4]} == set(REGIONS)
    assert params_for(spec, None) == params_for(spec, None)
    for p in cold:  # every window still covers most of the 24 h of data
        for start, end in (p.latency_window, p.metadata_window):
            assert spec.base_ns <= start < end
            assert end - start > spec.duration_ns * 0.8
        assert p.hourly_window[1] - p.hourly_window[0] == 7 * 24 * 3600 * 10**9


def test_client_replaces_a_connection_the_server_closed_while_idle(
    base: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The handler closes a connection idle for 0.3 s, as uvicorn does after 5 s; the
    # client's next request on it would read the close (RemoteDisconnected) without a
    # fresh connection.
    monkeypatch.setattr(_Handler, "timeout", 0.3)
    monkeypatch.setattr(qc, "IDLE_S", 0.2)
    with QueryClient() as client:
        assert client.get(f"{base}/a").status == 200
        time.sleep(0.6)  # the server closed it meanwhile
        assert client.get(f"{base}/b").json()["path"] == "/b"
        assert client.get(f"{base}/c").status == 200  # the new one is kept alive
    assert len(_Handler.connections) == 2
