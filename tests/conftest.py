"""Shared fixtures: real servers on loopback, temporary data directories."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.server import ServerProcess, running_server


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One real server (HTTP + gRPC) shared by a session; tests use their own project names."""
    data_dir: Path = tmp_path_factory.mktemp("live") / "data"
    with running_server(data_dir, grpc=True) as server:
        yield server


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A real server of this test's own, on a new data directory."""
    with running_server(tmp_path / "data", grpc=True) as server:
        yield server
