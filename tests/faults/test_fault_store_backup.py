"""`llmpulse backup` while the server ingests, then `llmpulse restore`: a round trip."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from llmpulse.sdk.client import Client
from support.faults import send, stored_count, stored_ids
from support.server import ServerProcess, free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]
PROJECT = "backup"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llmpulse", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_backup_while_ingesting_then_restore_round_trips(tmp_path: Path) -> None:
    data = tmp_path / "data"
    backups = tmp_path / "backups"
    extra = ["--decode-workers", "0", "--backup-dir", str(backups)]
    server = ServerProcess(data, free_port(), 0, extra).start()
    before: set[str] = set()
    for _ in range(10):
        status, ids = send(server, PROJECT, 100)
        assert status == 200
        before |= ids
    during: set[str] = set()
    stop = threading.Event()

    def keep_sending() -> None:
        while not stop.is_set():
            status, ids = send(server, PROJECT, 50)
            if status == 200:
                during.update(ids)

    sender = threading.Thread(target=keep_sending)
    sender.start()
    try:
        backup = backups / "snap1"
        done = _cli("backup", "snap1", "--data-dir", str(data), "--url", server.url, "--json")
        stop.set()
        sender.join(30)
        assert done.returncode == 0, done.stderr
        assert len(during) > 0, "ingest went on during the backup"
        live = stored_ids(server, PROJECT)
    finally:
        stop.set()
        server.stop()
    reported = int(done.stdout.split('"spans": ')[1].split(",")[0])
    assert reported >= len(before)
    assert set(live) == before | during

    restored = tmp_path / "restored"
    done = _cli("restore", str(backup), "--data-dir", str(restored))
    assert done.returncode == 0, done.stderr
    server = ServerProcess(restored, free_port(), 0, ["--decode-workers", "0"]).start()
    try:
        back = stored_ids(server, PROJECT)
        count = stored_count(server, PROJECT)
        ready = httpx.get(f"{server.url}/readyz").json()
    finally:
        server.stop()
    assert count == len(set(back)), "no span is stored twice"
    assert before <= set(back) <= before | during  # a snapshot taken mid-ingest
    assert len(back) == reported
    assert ready["ready"] is True
    assert ready["warnings"] == []


def test_restore_refuses_a_running_server_and_a_non_backup(tmp_path: Path) -> None:
    data = tmp_path / "data"
    backups = tmp_path / "backups"
    extra = ["--decode-workers", "0", "--backup-dir", str(backups)]
    server = ServerProcess(data, free_port(), 0, extra).start()
    try:
        assert send(server, PROJECT, 10)[0] == 200
        done = _cli("backup", "b1", "--data-dir", str(data), "--url", server.url)
        assert done.returncode == 0, done.stderr
        busy = _cli("restore", str(backups / "b1"), "--data-dir", str(data))
        assert busy.returncode == 1
        assert "in use by another llmpulse process" in busy.stderr
        again = _cli("backup", "b1", "--data-dir", str(data), "--url", server.url)
        assert again.returncode == 1
        assert "exists already" in again.stderr
        path = _cli("backup", str(tmp_path / "x"), "--data-dir", str(data), "--url", server.url)
        assert path.returncode == 1
        assert "give a name, not a path" in path.stderr
        for name in ("../escape", "/etc/x", ".hidden", "a/b", ""):
            r = httpx.post(f"{server.url}/api/v1/admin/backup", json={"name": name})
            assert r.status_code == 400, (name, r.text)
            assert r.json()["errors"][0]["path"] == "name"
        with Client(server.url) as client:  # the SDK takes one the same way
            report = client.backup("sdk1")
        assert report["spans"] == 10
        assert report["target"] == str((backups / "sdk1").resolve())
        assert sorted(p.name for p in backups.iterdir()) == ["b1", "sdk1"]
        assert not (tmp_path / "escape").exists()
    finally:
        server.stop()
    local = _cli("backup", str(tmp_path / "local"), "--data-dir", str(data), "--json")
    assert local.returncode == 0, local.stderr  # server stopped: taken by the CLI itself
    manifest = json.loads((tmp_path / "local" / "BACKUP.json").read_text())
    assert manifest["spans"] == 10
    junk = tmp_path / "junk"
    junk.mkdir()
    bad = _cli("restore", str(junk), "--data-dir", str(tmp_path / "other"))
    assert bad.returncode == 1
    assert "is not an llmpulse backup" in bad.stderr
    assert "Traceback" not in bad.stderr
