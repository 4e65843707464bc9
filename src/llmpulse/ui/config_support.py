"""What the configuration pages share: the config service, the actor, form bodies, errors."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl

from fastapi import Request

from llmpulse.config.service import ConfigService
from llmpulse.domain.errors import InvalidInput
from llmpulse.ui.alerts_reader import app_alerts

MAX_FORM_BYTES = 65_536


def app_config(request: Request) -> ConfigService:
    """The running app's configuration service (``app.state.services.config``)."""
    service: ConfigService = request.app.state.services.config
    return service


def ui_actor(request: Request) -> str:
    """Who the audit log names: the signed-in key's name, or ``ui`` on an open server."""
    principal = (request.scope.get("state") or {}).get("principal")
    if principal is not None and principal.key_id != "open":
        return str(principal.name)
    return "ui"


def monitor_states(request: Request, project: str) -> Mapping[str, str]:
    """Each monitor's current alert state, from the server's monitor runtime."""
    return {name: s.value for name, s in app_alerts(request).current_states(project).items()}


async def read_form(request: Request) -> dict[str, list[str]]:
    """The url-encoded body, every value of each field in order."""
    body = (await request.body())[:MAX_FORM_BYTES].decode("utf-8", errors="replace")
    out: dict[str, list[str]] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        out.setdefault(key, []).append(value)
    return out


def first(form: Mapping[str, list[str]], key: str) -> str:
    """The first value of a field, stripped ("" when absent)."""
    values = form.get(key) or [""]
    return values[0].strip()


def field_errors(e: InvalidInput) -> dict[str, str]:
    """Errors by field path (``spec.window``), the detail under ``""`` when none is named."""
    return {fe.path: fe.message for fe in e.errors} or {"": e.detail}
