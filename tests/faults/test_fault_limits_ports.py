"""Two servers on one machine (#9, item 12): a port in use, HTTP or OTLP/gRPC, is an error at
start naming the port and the flag; the second server exits non-zero and the first keeps all
of its traffic (gRPC no longer shares a port through SO_REUSEPORT)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from llmpulse.domain.errors import PortInUse
from llmpulse.server.services import run_services
from llmpulse.server.settings import ServerSettings
from support.otlp import make_request, make_span
from support.server import ServerProcess, free_port

pytestmark = pytest.mark.integration
EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


def serve(
    data_dir: Path, port: int, grpc_port: int, *args: str
) -> subprocess.CompletedProcess[str]:
    """Run ``llmpulse serve`` expecting it to give up at start."""
    cmd = [sys.executable, "-m", "llmpulse", "serve", "--port", str(port)]
    cmd += ["--grpc-port", str(grpc_port), "--data-dir", str(data_dir), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture
def first(tmp_path: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path / "first", free_port(), free_port()).start()
    try:
        yield server
    finally:
        server.stop()


def test_second_server_on_the_same_http_port_exits_with_one_line(
    first: ServerProcess, tmp_path: Path
) -> None:
    second = serve(tmp_path / "second", first.port, free_port())
    assert second.returncode == 1
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1, second.stderr
    assert lines[0].startswith(f"error: HTTP port {first.port} on 127.0.0.1 is already in use")
    assert "--port (LLMPULSE_PORT)" in lines[0]
    assert "Traceback" not in second.stdout + second.stderr


def test_second_server_on_the_same_grpc_port_exits_and_the_first_keeps_every_export(
    first: ServerProcess, tmp_path: Path
) -> None:
    second = serve(tmp_path / "second", free_port(), first.grpc_port)
    assert second.returncode == 1
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1, second.stderr
    assert lines[0].startswith(f"error: OTLP/gRPC port {first.grpc_port} on 127.0.0.1")
    assert "already in use" in lines[0]
    assert "--grpc-port (LLMPULSE_GRPC_PORT)" in lines[0]
    spans = [make_span(f"s{i}") for i in range(20)]
    with grpc.insecure_channel(f"127.0.0.1:{first.grpc_port}") as channel:
        export = channel.unary_unary(
            EXPORT,
            request_serializer=None,
            response_deserializer=ExportTraceServiceResponse.FromString,
        )
        for span in spans:  # one connection per export would spread them over listeners
            export(make_request([span], "ports").SerializeToString(), timeout=30)
    r = httpx.get(f"{first.url}/api/v1/projects/ports/spans", params={"limit": 100})
    assert {s["span_id"] for s in r.json()["data"]} == {s.span_id.hex() for s in spans}


def test_grpc_listener_refuses_a_port_another_grpc_server_shares_by_so_reuseport() -> None:
    # grpc turns SO_REUSEPORT on by default: a listener started after the start-up check (or
    # next to a grpc server of another program) used to share the port without a word.
    async def scenario() -> str:
        other = grpc.aio.server()  # default options, SO_REUSEPORT on
        port = other.add_insecure_port("127.0.0.1:0")
        await other.start()
        settings = ServerSettings(data_dir=None, grpc_port=port, decode_workers=0)
        try:
            async with run_services(settings):
                return "started"
        except PortInUse as exc:
            return exc.detail
        finally:
            await other.stop(None)

    # A thread of its own: a browser test's loop may be running in this xdist worker.
    with ThreadPoolExecutor(1) as pool:
        detail = pool.submit(lambda: asyncio.run(scenario())).result()
    assert "already in use" in detail
    assert "--grpc-port (LLMPULSE_GRPC_PORT)" in detail


def test_a_limit_out_of_range_is_one_line_naming_the_setting(tmp_path: Path) -> None:
    result = serve(tmp_path / "data", free_port(), 0, "--max-connections", "3")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: max_connections: Input should be greater than or equal to 8"
    ]


def test_a_memory_limit_that_is_not_a_size_is_one_line_naming_the_setting(
    tmp_path: Path,
) -> None:
    result = serve(tmp_path / "data", free_port(), 0, "--memory-limit", "lots")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: memory_limit: Value error, 'lots' is not a size such as 512MB or 2GB"
    ]
