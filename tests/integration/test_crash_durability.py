"""A 2xx means durable: spans acknowledged before SIGKILL are all there after restart."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest

from support.faults import stored_ids
from support.otlp import make_request, make_span
from support.server import ServerProcess, free_port, running_server

pytestmark = [pytest.mark.integration, pytest.mark.slow]
PROJECT = "crash"


def _sender(url: str, acked: set[str], lock: threading.Lock, stop: threading.Event) -> None:
    with httpx.Client(timeout=10.0) as client:
        while not stop.is_set():
            spans = [make_span(f"s{i}", attrs={"input.value": "x" * 500}) for i in range(50)]
            body = make_request(spans, PROJECT).SerializeToString()
            try:
                r = client.post(
                    url, content=body, headers={"content-type": "application/x-protobuf"}
                )
            except httpx.HTTPError:
                return  # the server died mid-request: that batch was never acknowledged
            if r.status_code == 200:
                with lock:
                    acked.update(s.span_id.hex() for s in spans)


def test_ingest_keeps_every_acknowledged_span_when_the_server_is_killed(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = ServerProcess(data_dir, free_port(), 0).start()
    acked: set[str] = set()
    lock = threading.Lock()
    stop = threading.Event()
    senders = [
        threading.Thread(target=_sender, args=(f"{server.url}/v1/traces", acked, lock, stop))
        for _ in range(4)
    ]
    for t in senders:
        t.start()
    deadline = time.monotonic() + 30
    while len(acked) < 3000 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.kill()  # SIGKILL while the senders are still sending
    stop.set()
    for t in senders:
        t.join(15)
    assert len(acked) >= 3000

    with running_server(data_dir) as restarted:
        stored = set(stored_ids(restarted, PROJECT))
    missing = acked - stored
    assert not missing, f"{len(missing)} acknowledged spans lost"
