"""Route dependencies: fetch services from the typed container, never loose app.state."""

from __future__ import annotations

from fastapi import Request

from llmpulse.server.services import Services


def get_services(request: Request) -> Services:
    """The running app's `Services`."""
    services: Services = request.app.state.services
    return services
