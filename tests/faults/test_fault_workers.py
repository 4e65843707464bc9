"""Decode workers: a killed worker is replaced, and workers die with a killed server."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import psutil
import pytest

from support.faults import send, stored_count, stored_ids
from support.server import ServerProcess, free_port

pytestmark = [pytest.mark.integration]


def _workers(server: ServerProcess) -> list[psutil.Process]:
    """The live decode workers (not multiprocessing's resource tracker, not zombies)."""
    assert server.proc is not None
    out = []
    for p in psutil.Process(server.proc.pid).children(recursive=True):
        try:
            if p.status() != psutil.STATUS_ZOMBIE and "spawn_main" in " ".join(p.cmdline()):
                out.append(p)
        except psutil.NoSuchProcess:
            continue
    return out


def _wait_for_workers(server: ServerProcess, n: int, timeout_s: float = 30) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        pids = [p.pid for p in _workers(server)]
        if len(pids) >= n:
            return pids
        time.sleep(0.1)
    raise AssertionError(f"fewer than {n} decode workers came up")


def test_a_killed_decode_worker_is_replaced_and_ingest_goes_on(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", free_port(), 0, ["--decode-workers", "2"]).start()
    try:
        acked: set[str] = set()
        status, ids = send(server, "workers", 50)
        assert status == 200
        acked |= ids
        before = _wait_for_workers(server, 2)
        os.kill(before[0], signal.SIGKILL)
        statuses = []
        for _ in range(10):  # at most the request that met the dying pool may get a 503
            status, ids = send(server, "workers", 50)
            statuses.append(status)
            if status == 200:
                acked |= ids
        assert statuses.count(200) >= 9, statuses
        assert statuses[-1] == 200
        after = _wait_for_workers(server, 2)
        assert before[0] not in after
        ready = httpx.get(f"{server.url}/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["decode_workers_alive"] == 2
        stored = stored_ids(server, "workers")
        count = stored_count(server, "workers")
    finally:
        server.stop()
    assert count == len(set(stored)), "no span is stored twice"
    assert acked <= set(stored)


def test_decode_workers_exit_when_the_server_is_killed(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", free_port(), 0, ["--decode-workers", "2"]).start()
    workers: list[psutil.Process] = []
    try:
        workers = [psutil.Process(pid) for pid in _wait_for_workers(server, 2)]
        assert len(workers) >= 2
    finally:
        server.kill()
    # A worker that was still importing when the server died checks its parent only once its
    # start-up is done: under a loaded machine that takes seconds, so allow 30 s.
    gone, alive = psutil.wait_procs(workers, timeout=30)
    for p in alive:  # never leave orphans behind, even when the assertion below fails
        p.kill()
    assert alive == [], f"orphaned decode workers: {[p.pid for p in alive]}"
    assert len(gone) == len(workers)
