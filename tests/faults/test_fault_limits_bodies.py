"""Request bodies have a size limit (#9, item 8): REST and UI bodies one setting, OTLP bodies
their own larger one. Over it the answer is 413 naming the limit, sent before the body is read
(declared length) or as soon as the count passes it (chunked, no Content-Length), and the
server's memory does not follow the body."""

from __future__ import annotations

import json
import select
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from google.rpc import status_pb2

from support.otlp import make_request, make_span
from support.rawhttp import chunk, connect, head, read_response
from support.server import ServerProcess, running_server

pytestmark = pytest.mark.integration

REST_LIMIT = 64 * 1024
OTLP_LIMIT = 512 * 1024
PB = "application/x-protobuf"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data_dir = tmp_path_factory.mktemp("bodies") / "data"
    args = ("--max-rest-body-bytes", str(REST_LIMIT), "--max-body-bytes", str(OTLP_LIMIT))
    with running_server(data_dir, *args, "--decode-workers", "0") as srv:
        yield srv


def _assert_names_limit(problem: dict[str, object], limit: int, setting: str) -> None:
    assert problem["status"] == 413
    assert problem["title"] == "Payload too large"
    assert f"{limit}-byte limit" in str(problem["detail"])
    assert setting in str(problem["detail"])
    assert problem["errors"] == [{"path": "body", "message": problem["detail"]}]


def test_declared_oversized_rest_body_gets_413_before_the_body_is_sent(
    server: ServerProcess,
) -> None:
    with connect(server.port) as sock:
        headers = {"Content-Type": "application/json", "Content-Length": str(400 * 1024 * 1024)}
        sock.sendall(head("POST", "/api/v1/projects/p/predictions", headers))
        response = read_response(sock)  # not one byte of the 400 MB was sent
    assert response.status == 413
    assert response.headers["content-type"] == "application/problem+json"
    _assert_names_limit(json.loads(response.body), REST_LIMIT, "LLMPULSE_MAX_REST_BODY_BYTES")


def test_chunked_oversized_rest_body_gets_413_once_past_the_limit(server: ServerProcess) -> None:
    piece = b"x" * 16 * 1024
    with connect(server.port) as sock:
        headers = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
        sock.sendall(head("PUT", "/api/v1/prices", headers))
        sent = 0
        while sent <= REST_LIMIT:  # a little over the limit, never the end of the body
            sock.sendall(chunk(piece))
            sent += len(piece)
        response = read_response(sock)
    assert response.status == 413
    _assert_names_limit(json.loads(response.body), REST_LIMIT, "LLMPULSE_MAX_REST_BODY_BYTES")


def test_ui_form_post_over_the_limit_gets_413(server: ServerProcess) -> None:
    form = {"name": "big", "conditions": "x" * (REST_LIMIT + 10)}
    r = httpx.post(f"{server.url}/ui/projects/p/cohorts", data=form, timeout=30)
    assert r.status_code == 413
    _assert_names_limit(r.json(), REST_LIMIT, "LLMPULSE_MAX_REST_BODY_BYTES")


def test_bodies_within_the_rest_limit_still_work(server: ServerProcess) -> None:
    records = [{"prediction_id": f"p{i}", "prediction_label": "yes"} for i in range(50)]
    r = httpx.post(f"{server.url}/api/v1/projects/small/predictions", json={"records": records})
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 50


def _otlp_body(target_bytes: int, project: str) -> tuple[bytes, set[str]]:
    spans = [
        make_span(f"s{i}", attrs={"input.value": "y" * 2000}) for i in range(target_bytes // 2100)
    ]
    return make_request(spans, project).SerializeToString(), {s.span_id.hex() for s in spans}


def test_otlp_has_its_own_larger_limit(server: ServerProcess) -> None:
    body, ids = _otlp_body(3 * REST_LIMIT, "otlp-limit")  # over the REST limit, under OTLP's
    assert REST_LIMIT < len(body) < OTLP_LIMIT
    r = httpx.post(f"{server.url}/v1/traces", content=body, headers={"content-type": PB})
    assert r.status_code == 200
    stored = httpx.get(
        f"{server.url}/api/v1/projects/otlp-limit/spans", params={"limit": 1000}
    ).json()
    assert {s["span_id"] for s in stored["data"]} == ids


def test_oversized_otlp_body_gets_413_in_its_own_encoding(server: ServerProcess) -> None:
    body, _ = _otlp_body(OTLP_LIMIT + 50_000, "otlp-big")
    r = httpx.post(f"{server.url}/v1/traces", content=body, headers={"content-type": PB})
    assert r.status_code == 413
    status = status_pb2.Status.FromString(r.content)
    assert status.code == 3  # INVALID_ARGUMENT: OTel exporters do not retry it
    assert f"{OTLP_LIMIT}-byte limit" in status.message
    assert "LLMPULSE_MAX_BODY_BYTES" in status.message


def test_chunked_oversized_otlp_json_body_gets_413(server: ServerProcess) -> None:
    piece = b" " * 64 * 1024
    with connect(server.port) as sock:
        headers = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
        sock.sendall(head("POST", "/v1/traces", headers))
        sent = 0
        while sent <= OTLP_LIMIT:
            sock.sendall(chunk(piece))
            sent += len(piece)
        response = read_response(sock)
    assert response.status == 413
    answer = json.loads(response.body)
    assert answer["code"] == 3
    _assert_names_limit(answer, OTLP_LIMIT, "LLMPULSE_MAX_BODY_BYTES")


def test_a_400_mb_chunked_post_is_refused_early_and_does_not_grow_the_server(
    tmp_path: Path,
) -> None:
    with running_server(tmp_path / "data", "--decode-workers", "0") as srv:  # 16 MiB default
        assert srv.proc is not None
        proc = psutil.Process(srv.proc.pid)
        before = proc.memory_info().rss
        piece = b"z" * 1024 * 1024
        answered_after_mib = None
        with connect(srv.port, timeout_s=60) as sock:
            headers = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
            sock.sendall(head("POST", "/api/v1/projects/p/predictions", headers))
            for i in range(400):
                sock.sendall(chunk(piece))
                if select.select([sock], [], [], 0)[0]:
                    answered_after_mib = i + 1
                    break
            response = read_response(sock)
        grown = proc.memory_info().rss - before
    assert response.status == 413
    assert "16777216-byte limit" in json.loads(response.body)["detail"]
    assert answered_after_mib is not None
    assert answered_after_mib < 48, answered_after_mib
    assert grown < 64 * 1024 * 1024, f"server grew by {grown / 2**20:.0f} MiB"
