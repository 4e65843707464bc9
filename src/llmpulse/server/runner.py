"""`serve_app`: run the ASGI app under uvicorn with llmpulse's ports and connection limits."""

from __future__ import annotations

import socket

import uvicorn
from starlette.applications import Starlette
from starlette.types import ASGIApp

from llmpulse.server.connections import ConnectionLimits, fit_fd_limit, guarded_protocol
from llmpulse.server.ports import BACKLOG, bind_listener, check_port_free
from llmpulse.server.settings import ServerSettings


def bind_ports(settings: ServerSettings) -> socket.socket:
    """Bind the HTTP port and check the OTLP/gRPC one; either in use raises `PortInUse`."""
    sock = bind_listener(settings.host, settings.port, "HTTP", "--port (LLMPULSE_PORT)")
    if settings.grpc_port:
        try:
            check_port_free(
                settings.host,
                settings.grpc_port,
                "OTLP/gRPC",
                "--grpc-port (LLMPULSE_GRPC_PORT), or 0 to turn gRPC off",
            )
        except BaseException:
            sock.close()
            raise
    return sock


def serve_app(asgi_app: ASGIApp, settings: ServerSettings, sock: socket.socket) -> None:
    """Serve until a signal stops the server, on the socket `bind_ports` returned."""
    limits = ConnectionLimits(
        header_timeout_s=settings.header_timeout_s,
        body_timeout_s=settings.body_timeout_s,
        max_connections=fit_fd_limit(settings.max_connections),
    )
    if isinstance(asgi_app, Starlette):
        asgi_app.state.connection_stats = limits.stats  # shown by /healthz
    config = uvicorn.Config(
        asgi_app,
        host=settings.host,
        port=settings.port,
        http=guarded_protocol(limits),
        backlog=BACKLOG,
        log_level="warning",
        timeout_graceful_shutdown=10,
    )
    uvicorn.Server(config).run(sockets=[sock])
