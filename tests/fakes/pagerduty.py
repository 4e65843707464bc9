"""A faithful PagerDuty Events API v2 receiver (``POST /v2/enqueue``).

Validates events as PagerDuty documents them: ``routing_key`` is the 32-character integration
key; ``event_action`` is trigger, acknowledge or resolve; ``dedup_key`` at most 255 characters
and required for acknowledge and resolve; a trigger needs ``payload`` with ``summary``
(≤ 1024 characters), ``source`` and ``severity`` (critical, error, warning, info), and an
optional ISO 8601 ``timestamp``; ``links`` items need ``href``. A valid event gets
``202 {"status": "success", "message": "Event processed", "dedup_key": ...}`` (a trigger
without a key gets a generated one); an invalid one ``400 {"status": "invalid event",
"message": "Event object is invalid", "errors": [...]}``. The fake keeps PagerDuty's alert
state per dedup key: a trigger opens (or updates) the alert, a resolve closes it.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from fakes.http_receiver import HttpReceiver, Received, Reply

SEVERITIES = {"critical", "error", "warning", "info"}
ACTIONS = {"trigger", "acknowledge", "resolve"}


def _payload_errors(payload: Any) -> list[str]:
    if not isinstance(payload, dict):
        return ["'payload' is missing or not an object"]
    errors = []
    summary = payload.get("summary")
    if not isinstance(summary, str) or not summary:
        errors.append("'payload.summary' is missing or blank")
    elif len(summary) > 1024:
        errors.append("'payload.summary' is longer than 1024 characters")
    if not isinstance(payload.get("source"), str) or not payload.get("source"):
        errors.append("'payload.source' is missing or blank")
    if payload.get("severity") not in SEVERITIES:
        errors.append(
            "'payload.severity' is invalid (must be one of critical, error, warning, info)"
        )
    ts = payload.get("timestamp")
    if ts is not None:
        try:
            datetime.fromisoformat(str(ts))
        except ValueError:
            errors.append("'payload.timestamp' is not a valid ISO 8601 date")
    details = payload.get("custom_details")
    if details is not None and not isinstance(details, dict | str):
        errors.append("'payload.custom_details' is invalid")
    return errors


def event_errors(event: Any) -> list[str]:
    """Return PagerDuty's validation errors for ``event`` (empty if valid)."""
    if not isinstance(event, dict):
        return ["Event object is not a JSON object"]
    errors = []
    key = event.get("routing_key")
    if not isinstance(key, str) or len(key) != 32:
        errors.append("Length of 'routing_key' is incorrect (should be 32 characters)")
    action = event.get("event_action")
    if action not in ACTIONS:
        errors.append("'event_action' is invalid (must be one of trigger, acknowledge, resolve)")
    dedup = event.get("dedup_key")
    if dedup is not None and (not isinstance(dedup, str) or len(dedup) > 255):
        errors.append("'dedup_key' must be a string of at most 255 characters")
    if action in {"acknowledge", "resolve"} and not dedup:
        errors.append(f"'dedup_key' is required for '{action}' events")
    if action == "trigger":
        errors += _payload_errors(event.get("payload"))
    links = event.get("links", [])
    if not isinstance(links, list) or any(
        not isinstance(x, dict) or "href" not in x for x in links
    ):
        errors.append("'links' must be a list of objects with 'href'")
    return errors


class PagerDutyFake:
    """The receiver plus PagerDuty's alert state per dedup key."""

    def __init__(self) -> None:
        """Create the fake (serve it with ``with fake.receiver:``)."""
        self.alerts: dict[str, str] = {}
        self.events: list[dict[str, Any]] = []
        self.receiver = HttpReceiver(self._respond)

    @property
    def url(self) -> str:
        """Return the enqueue URL."""
        return self.receiver.url + "/v2/enqueue"

    def _respond(self, req: Received) -> Reply:
        if req.path != "/v2/enqueue":
            return Reply(404, b'{"status":"not found"}', {"Content-Type": "application/json"})
        try:
            event = json.loads(req.body)
        except ValueError:
            event = None
        errors = event_errors(event)
        if errors:
            body = {
                "status": "invalid event",
                "message": "Event object is invalid",
                "errors": errors,
            }
            return Reply(400, json.dumps(body).encode(), {"Content-Type": "application/json"})
        assert isinstance(event, dict)
        self.events.append(event)
        key = event.get("dedup_key") or uuid.uuid4().hex
        action = event["event_action"]
        if action == "trigger":
            self.alerts[key] = "triggered"
        elif key in self.alerts:
            self.alerts[key] = "resolved" if action == "resolve" else "acknowledged"
        body = {"status": "success", "message": "Event processed", "dedup_key": key}
        return Reply(202, json.dumps(body).encode(), {"Content-Type": "application/json"})
