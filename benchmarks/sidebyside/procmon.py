"""Server processes: start, wait until healthy, sample RSS of the tree, stop; disk usage."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx
import psutil


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def dir_size_bytes(path: Path) -> int:
    """Bytes of all regular files under ``path`` (apparent size)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except FileNotFoundError:
                continue
    return total


class ServerProcess:
    """A server started as a child process in its own process group."""

    def __init__(
        self, argv: Sequence[str], env: Mapping[str, str], log_path: Path, health_url: str
    ) -> None:
        """Remember how to start it; nothing runs yet."""
        self.argv = list(argv)
        self.env = dict(env)
        self.log_path = log_path
        self.health_url = health_url
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 120.0) -> float:
        """Start and wait for the health URL to answer 200; return seconds taken."""
        log = self.log_path.open("ab")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            self.argv, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        with httpx.Client(timeout=2.0) as client:
            while time.perf_counter() - t0 < timeout_s:
                if self.proc.poll() is not None:
                    raise RuntimeError(
                        f"server exited with {self.proc.returncode}; see {self.log_path}"
                    )
                try:
                    if client.get(self.health_url).status_code == 200:
                        return time.perf_counter() - t0
                except httpx.HTTPError:
                    pass
                time.sleep(0.02)
        self.stop()
        raise TimeoutError(f"server not healthy after {timeout_s} s; see {self.log_path}")

    def _tree(self) -> list[psutil.Process]:
        if self.proc is None:
            return []
        try:
            root = psutil.Process(self.proc.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def rss_bytes(self) -> int:
        """Resident memory of the server and all its descendants."""
        total = 0
        for p in self._tree():
            try:
                total += p.memory_info().rss
            except psutil.NoSuchProcess:
                continue
        return total

    def cpu_seconds(self) -> float:
        """User + system CPU time used so far by the server and its live descendants."""
        total = 0.0
        for p in self._tree():
            try:
                t = p.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += t.user + t.system
        return total

    def stop(self, timeout_s: float = 60.0) -> None:
        """SIGINT the group (graceful), then SIGKILL after ``timeout_s``."""
        if self.proc is None or self.proc.poll() is not None:
            return
        pgid = os.getpgid(self.proc.pid)
        os.killpg(pgid, signal.SIGINT)
        try:
            self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(pgid, signal.SIGKILL)
            self.proc.wait(10)


class RssSampler:
    """Samples a server's tree RSS in a thread and keeps the peak."""

    def __init__(self, server: ServerProcess, interval_s: float = 0.25) -> None:
        """Prepare; call ``start`` then ``stop``."""
        self.server = server
        self.interval_s = interval_s
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_bytes = max(self.peak_bytes, self.server.rss_bytes())
            self._stop.wait(self.interval_s)

    def start(self) -> None:
        """Begin sampling."""
        self._thread.start()

    def stop(self) -> int:
        """Stop sampling; return the peak in bytes."""
        self._stop.set()
        self._thread.join()
        self.peak_bytes = max(self.peak_bytes, self.server.rss_bytes())
        return self.peak_bytes
