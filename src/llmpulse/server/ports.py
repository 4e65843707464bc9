"""Binding the server's ports so that a port in use is an error at start, naming port and flag.

The HTTP socket is bound here and handed to uvicorn (no window between the check and the
listen). The OTLP/gRPC port is probed the same way before start-up; the gRPC listener itself
binds without ``SO_REUSEPORT`` and fails with the same message if it lost a race.
"""

from __future__ import annotations

import socket

from llmpulse.domain.errors import PortInUse

BACKLOG = 2048


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def bind_listener(host: str, port: int, what: str, flag: str) -> socket.socket:
    """A listening TCP socket on ``host:port`` without ``SO_REUSEPORT``.

    ``SO_REUSEADDR`` is set (as uvicorn does) so sockets of closed connections in TIME_WAIT do
    not block a restart; on Linux it never lets two listeners share a port.

    Raises:
        PortInUse: another process listens there (the message names ``what`` and ``flag``).
    """
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        raise PortInUse(
            f"{what} port {port} on {host} is already in use ({exc.strerror}); another "
            f"server may be running there; choose another port with {flag}"
        ) from None
    sock.set_inheritable(True)
    return sock


def check_port_free(host: str, port: int, what: str, flag: str) -> None:
    """Fail now, with the `PortInUse` message, when ``host:port`` cannot be listened on."""
    bind_listener(host, port, what, flag).close()
