"""Back-pressure is explicit: a full ingest queue answers 503 with Retry-After, nothing is
dropped silently, and what was acknowledged is stored."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest

from support.otlp import make_request, make_span
from support.server import running_server

pytestmark = pytest.mark.integration
PB = {"content-type": "application/x-protobuf"}


def test_full_queue_answers_503_with_retry_after_and_keeps_acknowledged_spans(
    tmp_path: Path,
) -> None:
    acked: list[str] = []
    refused: list[httpx.Response] = []
    lock = threading.Lock()

    def send(url: str) -> None:
        with httpx.Client(timeout=30) as client:
            for _ in range(6):
                spans = [make_span(f"s{i}", attrs={"input.value": "x" * 2000}) for i in range(200)]
                body = make_request(spans, "bp").SerializeToString()
                r = client.post(f"{url}/v1/traces", content=body, headers=PB)
                with lock:
                    if r.status_code == 200:
                        acked.extend(s.span_id.hex() for s in spans)
                    else:
                        refused.append(r)

    with running_server(tmp_path / "data", "--max-queued-spans", "300") as server:
        threads = [threading.Thread(target=send, args=(server.url,)) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert refused, "a queue bound of 300 spans must refuse some of 8 concurrent senders"
        for r in refused:
            assert r.status_code == 503
            assert int(r.headers["retry-after"]) >= 1
        assert acked
        stored: set[str] = set()
        cursor = None
        while True:
            params: dict[str, str | int] = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
            page = httpx.get(f"{server.url}/api/v1/projects/bp/spans", params=params).json()
            stored.update(s["span_id"] for s in page["data"])
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert stored == set(acked)
        assert httpx.get(f"{server.url}/healthz").json()["queued_spans"] == 0
