"""Slow and idle connections cannot take the server down (#9, item 9): headers and bodies have
deadlines (408 and the connection closed), open connections are capped (the longest-idle one
makes room), and the open-file limit is raised to fit the cap, so 1,100 idle or slowloris
connections leave ``/healthz`` answering fast."""

from __future__ import annotations

import resource
import select
import socket
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support.rawhttp import chunk, closed_within, connect, get, head, read_response
from support.server import ServerProcess, free_port, running_server

pytestmark = pytest.mark.integration


def _connection_stats(server: ServerProcess) -> dict[str, int]:
    stats: dict[str, int] = httpx.get(f"{server.url}/healthz").json()["connections"]
    return stats


def _healthz_times(port: int, n: int) -> list[float]:
    times = []
    for _ in range(n):
        start = time.monotonic()
        response = get(port, "/healthz", timeout_s=5)
        assert response.status == 200
        times.append(time.monotonic() - start)
    return times


def _trickle(sock: socket.socket, byte: bytes) -> tuple[bool, bytes, float]:
    """Send `byte` every 0.3 s for up to 6 s until the server closes the connection.

    Returns whether it closed, what it sent back, and the seconds that took.
    """
    start = time.monotonic()
    closed = False
    got = b""
    while time.monotonic() - start < 6 and not closed:
        try:
            sock.sendall(byte)
        except (BrokenPipeError, ConnectionResetError):
            closed = True
            break
        closed, more = closed_within(sock, 0.3)
        got += more
    return closed, got, time.monotonic() - start


def test_1100_idle_and_slowloris_connections_leave_healthz_answering(tmp_path: Path) -> None:
    # The server starts with the open-file soft limit many systems default to (1,024): 1,100
    # connections used to exhaust it, and accept() failing meant /healthz failed too.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 4096:
        pytest.skip(f"the test itself needs ~1,200 descriptors (hard limit {hard})")
    server = ServerProcess(tmp_path / "data", free_port(), 0, ["--decode-workers", "0"])
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))
    try:
        server.start()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    sockets: list[socket.socket] = []
    try:
        for i in range(1100):
            sock = connect(server.port)
            if i % 2:  # half say nothing, half begin a request and stop mid-headers
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            sockets.append(sock)
        for sock in sockets[1::2][:200]:  # and some keep trickling, slowloris-style
            sock.sendall(b"a")
        times = _healthz_times(server.port, 30)
        assert max(times) < 1.0, times
        assert statistics.median(times) < 0.1, times
    finally:
        for sock in sockets:
            sock.close()
        server.stop()


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data_dir = tmp_path_factory.mktemp("timeouts") / "data"
    args = ("--header-timeout", "1.5", "--body-timeout", "1.5", "--max-connections", "40")
    args += ("--max-rest-body-bytes", "1000")
    with running_server(data_dir, *args, "--decode-workers", "0") as server:
        yield server


def test_trickled_headers_are_answered_408_and_closed(strict: ServerProcess) -> None:
    with connect(strict.port) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        closed, got, elapsed = _trickle(sock, b"a")  # never completes the headers
    assert closed, "a slowloris connection must be closed"
    assert 1.2 < elapsed < 3.0, elapsed
    assert got.startswith(b"HTTP/1.1 408 Request Timeout"), got[:80]
    assert b"request headers not received within 1.5 s" in got
    assert _connection_stats(strict)["header_timeouts"] >= 1


def test_silent_connection_is_closed_after_the_header_timeout(strict: ServerProcess) -> None:
    with connect(strict.port) as sock:
        start = time.monotonic()
        closed, _ = closed_within(sock, 6)
        elapsed = time.monotonic() - start
    assert closed
    assert 1.2 < elapsed < 3.0, elapsed


def test_trickled_body_is_answered_408_and_closed(strict: ServerProcess) -> None:
    with connect(strict.port) as sock:
        headers = {"Content-Type": "application/json", "Content-Length": "1000"}
        sock.sendall(head("PUT", "/api/v1/prices", headers) + b"{")
        closed, got, elapsed = _trickle(sock, b" ")
    assert closed, "a slow-body connection must be closed"
    assert 1.2 < elapsed < 3.0, elapsed
    assert got.startswith(b"HTTP/1.1 408 Request Timeout"), got[:80]
    assert b"request body not received within 1.5 s" in got
    assert _connection_stats(strict)["body_timeouts"] >= 1


def test_chunked_body_that_stalls_is_closed_too(strict: ServerProcess) -> None:
    with connect(strict.port) as sock:
        headers = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
        sock.sendall(head("POST", "/v1/traces", headers) + chunk(b"{"))
        closed, got = closed_within(sock, 6)
    assert closed
    assert got.startswith(b"HTTP/1.1 408 Request Timeout")


def test_keep_alive_connection_trickling_its_next_request_is_closed(strict: ServerProcess) -> None:
    with connect(strict.port) as sock:
        sock.sendall(head("GET", "/healthz", {}))
        assert read_response(sock).status == 200
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")  # the next request, never finished
        _, _, elapsed = _trickle(sock, b"X-A: b\r\n")
    assert 1.2 < elapsed < 3.0, elapsed


def test_after_an_early_answer_the_next_request_has_a_header_deadline(
    strict: ServerProcess,
) -> None:
    with connect(strict.port) as sock:
        headers = {"Content-Type": "application/json", "Content-Length": "2000"}
        sock.sendall(head("PUT", "/api/v1/prices", headers))
        assert read_response(sock).status == 413  # answered before the body was sent
        sock.sendall(b" " * 2000)  # the client sends its body anyway; it is drained
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")  # then trickles its next request
        _, _, elapsed = _trickle(sock, b"X-A: b\r\n")
    assert elapsed < 3.0, elapsed


def test_requests_within_the_deadlines_are_served(strict: ServerProcess) -> None:
    body = b'{"tables": []}'
    with connect(strict.port) as sock:
        headers = {"Content-Type": "application/json", "Content-Length": str(len(body))}
        sock.sendall(head("PUT", "/api/v1/prices", headers))
        time.sleep(0.8)  # slow, but within the 1.5 s body deadline
        sock.sendall(body)
        first = read_response(sock)
        time.sleep(2.0)  # idle between requests is uvicorn's keep-alive (5 s), not a deadline
        sock.sendall(head("GET", "/healthz", {}))
        second = read_response(sock)
    assert first.status != 408, first
    assert first.status < 500, first
    assert second.status == 200


@pytest.fixture(scope="module")
def capped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data_dir = tmp_path_factory.mktemp("cap") / "data"
    args = ("--max-connections", "40", "--decode-workers", "0")
    with running_server(data_dir, *args) as server:
        yield server


def _closed(socks: list[socket.socket], wait_s: float) -> set[int]:
    """Indexes of the sockets the server has closed (EOF or reset) within ``wait_s``."""
    time.sleep(wait_s)
    readable, _, _ = select.select(socks, [], [], 0)
    gone = set()
    for i, sock in enumerate(socks):
        if sock in readable:
            try:
                if sock.recv(1) == b"":
                    gone.add(i)
            except ConnectionResetError:
                gone.add(i)
    return gone


def test_past_the_cap_the_longest_idle_connection_makes_room(capped: ServerProcess) -> None:
    busy = connect(capped.port)
    headers = {"Content-Type": "application/json", "Content-Length": "14"}
    busy.sendall(head("PUT", "/api/v1/prices", headers) + b'{"tab')  # mid-body: not idle
    idle = []
    try:
        for _ in range(60):  # the cap is 40
            idle.append(connect(capped.port))
            time.sleep(0.005)  # so that "oldest" is well defined
        assert _healthz_times(capped.port, 5)
        gone = _closed(idle, 0.3)
        assert set(range(20)) <= gone, sorted(gone)  # the oldest idle ones made room
        assert not gone & set(range(50, 60)), sorted(gone)  # the newest stay
        busy.sendall(b'les": []}')
        answer = read_response(busy)  # a request under way is never evicted
        assert answer.status < 500, answer
        assert _connection_stats(capped)["evicted_idle"] >= 20
    finally:
        busy.close()
        for sock in idle:
            sock.close()


def test_when_every_connection_is_busy_a_new_one_gets_503(capped: ServerProcess) -> None:
    headers = {"Content-Type": "application/json", "Content-Length": "14"}
    busy = []
    try:
        for _ in range(45):
            sock = connect(capped.port)
            sock.sendall(head("PUT", "/api/v1/prices", headers) + b"{")
            busy.append(sock)
        # 40 fit; past the cap with none idle, each newcomer is told to retry and closed
        refused = []
        for sock in busy[40:]:
            closed, got = closed_within(sock, 2)
            refused.append((closed, got))
        assert all(closed for closed, _ in refused), refused
        assert all(got.startswith(b"HTTP/1.1 503 Service Unavailable") for _, got in refused)
        assert all(b"retry-after: 1\r\n" in got for _, got in refused)
    finally:
        for sock in busy:
            sock.close()
    time.sleep(0.2)
    assert _healthz_times(capped.port, 3)
    assert _connection_stats(capped)["refused"] >= 5
