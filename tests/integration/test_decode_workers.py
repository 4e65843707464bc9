"""OTLP decoding in worker processes: same answers as in-process decoding."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from support.otlp import make_request, make_span
from support.server import ServerProcess, running_server

pytestmark = pytest.mark.integration
PB = {"content-type": "application/x-protobuf"}


@pytest.fixture(scope="module")
def pooled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data: Path = tmp_path_factory.mktemp("pooled") / "data"
    with running_server(data, "--decode-workers", "2") as server:
        yield server


def test_worker_decode_stores_spans_and_reports_partial_success(pooled: ServerProcess) -> None:
    attrs = {"llm.model_name": "gpt-4o-mini", "llm.token_count.prompt": 100}
    good = [make_span(f"s{i}", attrs=attrs) for i in range(50)]
    bad = make_span("bad", trace_id=b"\x00" * 3)
    r = httpx.post(
        f"{pooled.url}/v1/traces",
        content=make_request([*good, bad], "pooled").SerializeToString(),
        headers=PB,
    )
    assert r.status_code == 200
    resp = ExportTraceServiceResponse.FromString(r.content)
    assert resp.partial_success.rejected_spans == 1
    spans = httpx.get(f"{pooled.url}/api/v1/projects/pooled/spans", params={"limit": 100}).json()
    assert len(spans["data"]) == 50
    assert all(s["cost_usd"] is not None for s in spans["data"])


def test_worker_decode_errors_keep_their_status_and_detail(pooled: ServerProcess) -> None:
    r = httpx.post(f"{pooled.url}/v1/traces", content=b"\xff\xfe garbage", headers=PB)
    assert r.status_code == 400
    j = httpx.post(
        f"{pooled.url}/v1/traces", content=b"[1, 2]", headers={"content-type": "application/json"}
    )
    assert j.status_code == 400
    assert j.json()["detail"]
    assert httpx.get(f"{pooled.url}/healthz").status_code == 200


def test_no_process_of_the_server_loads_pandas_while_decoding(pooled: ServerProcess) -> None:
    # pyarrow's first list conversion would import pandas (56 MiB) into each decode worker.
    body = make_request([make_span("p", attrs={"input.value": "x"})], "nopandas")
    for _ in range(4):  # reach every worker
        r = httpx.post(f"{pooled.url}/v1/traces", content=body.SerializeToString(), headers=PB)
        assert r.status_code == 200
    assert pooled.proc is not None
    root = psutil.Process(pooled.proc.pid)
    procs = [root, *root.children(recursive=True)]
    assert len(procs) >= 3  # the server and its two decode workers
    loaded = [p.pid for p in procs if "/pandas/" in Path(f"/proc/{p.pid}/maps").read_text()]
    assert loaded == []
