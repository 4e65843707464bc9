"""Start and stop a real `llmpulse serve` process on free loopback ports."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServerProcess:
    """A running server subprocess."""

    data_dir: Path
    port: int
    grpc_port: int
    extra_args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        """Base URL of the HTTP port."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 60.0) -> ServerProcess:
        """Start the process and wait until /healthz answers."""
        self.log_path = self.data_dir.parent / f"server-{self.port}.log"
        cmd = [
            sys.executable,
            "-m",
            "llmpulse",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--grpc-port",
            str(self.grpc_port),
            "--data-dir",
            str(self.data_dir),
            *self.extra_args,
        ]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **self.env}
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log_text()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"server did not become healthy:\n{self.log_text()}")

    def log_text(self) -> str:
        """What the server printed so far."""
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        """SIGTERM and wait for a clean exit."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


@contextmanager
def running_server(data_dir: Path, *args: str, grpc: bool = False) -> Iterator[ServerProcess]:
    """A server for the duration of a with-block."""
    server = ServerProcess(data_dir, free_port(), free_port() if grpc else 0, list(args))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def make_demo_data(data_dir: Path, days: int, end: str | None = None) -> None:
    """``days`` of `llmpulse demo` data (project ``rag-demo``) in ``data_dir``, ending now or at
    ``end`` (``%Y-%m-%dT%H:%M:%S%z``: the same spans on every run)."""
    at = ["--end", end] if end else []
    subprocess.run(
        [sys.executable, "-m", "llmpulse", "demo", "--data-dir", str(data_dir), "--days", str(days),
         "--quiet", *at],
        check=True, timeout=600,
    )  # fmt: skip


@contextmanager
def running_demo_server(
    data_dir: Path, days: int, end: str | None = None, server_args: tuple[str, ...] = ()
) -> Iterator[ServerProcess]:
    """A server (started with ``server_args``) on `make_demo_data`'s data in ``data_dir``."""
    make_demo_data(data_dir, days, end)
    with running_server(data_dir, *server_args) as server:
        yield server
