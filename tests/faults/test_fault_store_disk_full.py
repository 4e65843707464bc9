"""A full disk: ingest answers 503 + Retry-After, reads keep working, and ingest resumes by
itself once space is freed (no restart). On a real 50 MB tmpfs."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from llmpulse.domain.errors import Unavailable
from llmpulse.domain.ids import ProjectName, SpanId, TraceId
from llmpulse.domain.spans import Span, SpanKind
from llmpulse.sdk.client import Client
from llmpulse.store.api import SpanQuery
from llmpulse.store.events import compaction
from llmpulse.store.events.duckdb import DuckDBEventStore
from support.faults import send, stored_count, stored_ids
from support.otlp import make_request, make_span
from support.server import ServerProcess, free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]
PROJECT = "diskfull"
MIN_FREE = 8 * 1024 * 1024


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "fs"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=50m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"mounting a tmpfs was refused here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(fs: Path, leave: int, name: str = "filler") -> Path:
    st = os.statvfs(fs)
    filler = fs / name
    with filler.open("wb") as f:
        f.write(b"\0" * max(0, st.f_bavail * st.f_frsize - leave))
    return filler


def test_ingest_resumes_by_itself_after_the_disk_is_freed(small_fs: Path) -> None:
    extra = ["--decode-workers", "0", "--min-free-bytes", str(MIN_FREE)]
    server = ServerProcess(small_fs / "data", free_port(), 0, extra).start()
    acked: set[str] = set()
    try:
        for _ in range(3):
            status, ids = send(server, PROJECT, 100, size=2000)
            assert status == 200
            acked |= ids
        filler = _fill(small_fs, leave=256 * 1024)
        refusals = []
        for _ in range(40):
            spans_status, ids = send(server, PROJECT, 100, size=2000)
            if spans_status == 200:
                acked |= ids
                continue
            refusals.append(spans_status)
            break
        assert refusals == [503], "a full disk must refuse ingest with 503"
        # The failed commit gave its log bytes back: take them too, so that the checkpoint
        # cannot fit in the file's free blocks either.
        refill = _fill(small_fs, leave=64 * 1024, name="refill")
        time.sleep(3)  # the writer's idle checkpoint runs (and fails) on the full disk
        status, ids = send(server, PROJECT, 100, size=2000)
        assert status == 503
        r = _post(server, 100)
        assert r.status_code == 503
        assert int(r.headers["retry-after"]) >= 1
        assert "disk is full" in r.text
        ready = httpx.get(f"{server.url}/readyz")
        assert ready.status_code == 503
        assert ready.headers["retry-after"]
        assert any("disk full" in reason for reason in ready.json()["reasons"]), ready.text
        with Client(server.url) as client:  # the SDK sees the same, without retrying
            sdk_ready = client.ready()
        assert sdk_ready["ready"] is False
        assert any("disk full" in reason for reason in sdk_ready["reasons"])
        health = httpx.get(f"{server.url}/healthz")
        assert health.status_code == 200
        assert health.json()["status"] == "degraded"
        # Reads keep answering from what was committed, although the failed checkpoint
        # invalidated DuckDB's database: the store re-attached it.
        assert set(stored_ids(server, PROJECT)) >= acked
        assert httpx.get(f"{server.url}/api/v1/projects").status_code == 200
        notes = httpx.get(f"{server.url}/readyz").json()["warnings"]
        assert any("re-attached" in note for note in notes), notes

        filler.unlink()  # space is back; no restart from here on
        refill.unlink()
        deadline = time.monotonic() + 20
        status = 0
        while status != 200 and time.monotonic() < deadline:
            status, ids = send(server, PROJECT, 100, size=2000)
            if status == 200:
                acked |= ids
            else:
                time.sleep(0.5)
        assert status == 200, "ingest did not resume after the disk was freed"
        for _ in range(3):
            status, ids = send(server, PROJECT, 100, size=2000)
            assert status == 200
            acked |= ids
        assert httpx.get(f"{server.url}/readyz").status_code == 200
        stored = stored_ids(server, PROJECT)
        count = stored_count(server, PROJECT)
    finally:
        server.kill()
    assert count == len(set(stored)), "no span is stored twice"
    assert acked <= set(stored), f"{len(acked - set(stored))} acknowledged spans missing"

    # And after a crash, the acknowledged spans are all still there.
    restarted = ServerProcess(small_fs / "data", free_port(), 0, extra).start()
    try:
        after = stored_ids(restarted, PROJECT)
        count = stored_count(restarted, PROJECT)
    finally:
        restarted.stop()
    assert acked <= set(after)
    assert count == len(set(after))


def _post(server: ServerProcess, n: int) -> httpx.Response:
    spans = [make_span(f"s{i}", attrs={"input.value": "x" * 2000}) for i in range(n)]
    body = make_request(spans, PROJECT).SerializeToString()
    return httpx.post(
        f"{server.url}/v1/traces",
        content=body,
        headers={"content-type": "application/x-protobuf"},
        timeout=30,
    )


def _spans(n: int) -> list[Span]:
    """``n`` spans of traces of three (a root and two children), 600-character inputs."""
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        Span(
            project=ProjectName(PROJECT),
            trace_id=TraceId(f"{i // 3:032x}"),
            span_id=SpanId(f"{i:016x}"),
            parent_span_id=None if i % 3 == 0 else SpanId(f"{i - i % 3:016x}"),
            name="llm.call",
            kind=SpanKind.LLM,
            start_time=t0 + timedelta(milliseconds=i),
            end_time=t0 + timedelta(milliseconds=i + 5),
            input_value=f"question {i} " + "x" * 600,
            cost_usd=(i % 7) / 100,
        )
        for i in range(n)
    ]


def test_the_store_opens_on_a_full_disk_and_ranks_traces_all_the_same(small_fs: Path) -> None:
    """The traces' totals' file (built behind an open that keeps none) finds no room: they
    are kept in memory, and the store opens, reads and ranks as before (space can then be
    freed)."""
    path = small_fs / "events.duckdb"
    store = DuckDBEventStore(path, search_index=False)
    spans = _spans(300)
    store.append_spans(spans)
    store.close()
    filler = _fill(small_fs, leave=0)
    try:
        store = DuckDBEventStore(path, search_index=False)
        assert store.summary_upkeep.wait_built()
        assert store.count_spans(SpanQuery(ProjectName(PROJECT))) == len(spans)
        before = store.trace_pages_ranked
        page = store.list_spans(SpanQuery(ProjectName(PROJECT), sort="trace_cost", limit=5))
        assert store.trace_pages_ranked == before + 1
        assert len(page.items) == 5
        store.close()
    finally:
        filler.unlink()


def test_a_compaction_waits_for_room_on_the_disk_instead_of_filling_it(
    small_fs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(compaction, "DISK_MARGIN", 1024 * 1024)  # the tmpfs holds 50 MB
    path = small_fs / "events.duckdb"
    store = DuckDBEventStore(
        path,
        search_index=False,
        compact_free_ratio=0.0,  # any free block is worth a compaction...
        compact_min_bytes=0,
        compact_slack_row_groups=0,
    )
    spans = _spans(6000)
    for i in range(0, len(spans), 500):
        store.append_spans(spans[i : i + 500])
    need = store.free_space().disk_needed()
    filler = _fill(small_fs, leave=need // 2)
    try:
        assert not store.compact_if_fragmented()
        with pytest.raises(Unavailable, match="free disk"):
            store.compact()
        assert store.count_spans(SpanQuery(ProjectName(PROJECT))) == len(spans)
    finally:
        filler.unlink()
    assert store.compact_if_fragmented()  # room again: the background compaction starts
    store.close()  # waits for it
    store = DuckDBEventStore(path, search_index=False)
    assert store.count_spans(SpanQuery(ProjectName(PROJECT))) == len(spans)
    store.close()
