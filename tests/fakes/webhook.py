"""A generic webhook receiver that checks the HMAC signature and, optionally, Alertmanager's shape.

With a secret it answers ``401`` to a request whose ``X-Llmpulse-Signature`` is not
``sha256=HMAC-SHA256(secret, body)``. With ``alertmanager=True`` it answers ``400`` to a body
that is not Alertmanager's webhook JSON, version 4 (the fields of ``webhook_config`` in the
Alertmanager documentation, with their types). Otherwise ``200``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

from fakes.http_receiver import HttpReceiver, Received, Reply

TOP = {
    "version": str,
    "groupKey": str,
    "truncatedAlerts": int,
    "status": str,
    "receiver": str,
    "groupLabels": dict,
    "commonLabels": dict,
    "commonAnnotations": dict,
    "externalURL": str,
    "alerts": list,
}
ALERT = {
    "status": str,
    "labels": dict,
    "annotations": dict,
    "startsAt": str,
    "endsAt": str,
    "generatorURL": str,
    "fingerprint": str,
}


def _rfc3339(value: str) -> bool:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _string_map(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())


def _alert_errors(alert: Any, where: str) -> list[str]:
    if not isinstance(alert, dict):
        return [f"{where}: not an object"]
    errors = [
        f"{where}.{k}: missing or not {t.__name__}"
        for k, t in ALERT.items()
        if not isinstance(alert.get(k), t)
    ]
    if errors:
        return errors
    if alert["status"] not in {"firing", "resolved"}:
        errors.append(f"{where}.status: firing or resolved")
    errors += [
        f"{where}.{k}: values must be strings"
        for k in ("labels", "annotations")
        if not _string_map(alert[k])
    ]
    errors += [
        f"{where}.{k}: not RFC 3339" for k in ("startsAt", "endsAt") if not _rfc3339(alert[k])
    ]
    return errors


def alertmanager_errors(doc: Any) -> list[str]:
    """Return how ``doc`` departs from Alertmanager's webhook JSON, version 4."""
    if not isinstance(doc, dict):
        return ["not an object"]
    errors = [
        f"{k}: missing or not {t.__name__}" for k, t in TOP.items() if not isinstance(doc.get(k), t)
    ]
    if errors:
        return errors
    if doc["version"] != "4":
        errors.append("version: must be '4'")
    if doc["status"] not in {"firing", "resolved"}:
        errors.append("status: firing or resolved")
    for k in ("groupLabels", "commonLabels", "commonAnnotations"):
        if not _string_map(doc[k]):
            errors.append(f"{k}: values must be strings")
    for i, alert in enumerate(doc["alerts"]):
        errors += _alert_errors(alert, f"alerts[{i}]")
    return errors


def webhook_receiver(secret: str | None = None, alertmanager: bool = False) -> HttpReceiver:
    """Return a webhook receiver that verifies the signature and optionally the AM shape."""

    def respond(req: Received) -> Reply:
        if secret is not None:
            want = "sha256=" + hmac.new(secret.encode(), req.body, hashlib.sha256).hexdigest()
            got = req.headers.get("x-llmpulse-signature", "")
            if not hmac.compare_digest(want, got):
                return Reply(401, b"bad signature")
        try:
            doc = json.loads(req.body)
        except ValueError:
            return Reply(400, b"not JSON")
        if alertmanager:
            errors = alertmanager_errors(doc)
            if errors:
                return Reply(400, "; ".join(errors).encode())
        return Reply(200, b"{}", {"Content-Type": "application/json"})

    return HttpReceiver(respond)
