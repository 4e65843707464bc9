"""``kind: Receiver``: where notifications go (webhook, Slack, PagerDuty, e-mail).

``spec: {type: slack, settings: {...}}``. Secrets (webhook and Slack URLs, the webhook's HMAC
secret, PagerDuty routing keys, SMTP passwords) are never stored or exported: a manifest names
the server's environment variable that holds each one, as ``urlFromEnv: SLACK_URL`` or as
``url: ${SLACK_URL}`` (stored and exported as the former). A secret given in plain text is
refused, naming the field. The variables are read when a notification is sent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from llmpulse.alerts.notifiers import (
    EmailNotifier,
    Notifier,
    PagerDutyNotifier,
    RetryPolicy,
    SlackNotifier,
    SmtpConfig,
    WebhookNotifier,
)
from llmpulse.alerts.notifiers.pagerduty import EVENTS_URL
from llmpulse.config.resources import NAME_PATTERN, Resource, envelope, spec_errors
from llmpulse.domain.errors import FieldError, InvalidInput

ReceiverType = Literal["webhook", "slack", "pagerduty", "email"]
_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
_ENV_TEXT = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")


class SecretRef(BaseModel):
    """A secret held by an environment variable of the server."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    env: str = Field(pattern=_ENV_NAME)


class _Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class WebhookSettings(_Settings):
    """A generic JSON webhook, optionally HMAC-signed, optionally Alertmanager-shaped."""

    url: SecretRef
    secret: SecretRef | None = None
    format: Literal["llmpulse", "alertmanager"] = "llmpulse"
    max_alerts: int = Field(default=0, ge=0)


class SlackSettings(_Settings):
    """A Slack incoming webhook."""

    url: SecretRef


class PagerDutySettings(_Settings):
    """A PagerDuty Events API v2 integration."""

    routing_key: SecretRef
    url: str = Field(default=EVENTS_URL, pattern=r"^https?://")
    source: str = Field(default="llmpulse", min_length=1)


class EmailSettings(_Settings):
    """An SMTP relay and the addresses to write to."""

    host: str = Field(min_length=1)
    port: int = Field(default=25, ge=1, le=65535)
    sender: str = Field(alias="from", min_length=3)
    to: tuple[str, ...] = Field(min_length=1)
    username: str | None = None
    password: SecretRef | None = None
    starttls: bool = False


SETTINGS: dict[str, type[_Settings]] = {
    "webhook": WebhookSettings,
    "slack": SlackSettings,
    "pagerduty": PagerDutySettings,
    "email": EmailSettings,
}
SECRET_FIELDS: dict[str, tuple[str, ...]] = {
    "webhook": ("url", "secret"),
    "slack": ("url",),
    "pagerduty": ("routing_key",),
    "email": ("password",),
}


def _camel(field: str) -> str:
    head, *rest = field.split("_")
    return head + "".join(p.title() for p in rest)


def _secrets_in(kind: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    """Turn ``fieldFromEnv: VAR`` / ``field: ${VAR}`` into ``{field: {env: VAR}}``."""
    out = dict(settings)
    for field in SECRET_FIELDS[kind]:
        for spelling in (f"{_camel(field)}FromEnv", f"{field}_from_env"):
            if spelling in out:
                out[field] = {"env": out.pop(spelling)}
        value = out.get(field)
        if isinstance(value, str):
            m = _ENV_TEXT.match(value.strip())
            if m is None:
                msg = (
                    f"a secret: give {_camel(field)}FromEnv: VAR or ${{VAR}} (an environment "
                    "variable of the server), never the value itself"
                )
                raise InvalidInput(msg, [FieldError(f"spec.settings.{field}", msg)])
            out[field] = {"env": m.group(1)}
    return out


def parse_receiver_spec(spec: Mapping[str, Any]) -> tuple[ReceiverType, _Settings]:
    """Validate ``{type, settings}``.

    Raises:
        InvalidInput: unknown type, unknown or bad setting, a secret in plain text.
    """
    extra = sorted(set(spec) - {"type", "settings"})
    if extra:
        raise InvalidInput(f"unknown field {extra[0]}", [FieldError(f"spec.{extra[0]}", "unknown")])
    kind = spec.get("type")
    if kind not in SETTINGS:
        msg = f"type must be one of {', '.join(SETTINGS)}"
        raise InvalidInput(msg, [FieldError("spec.type", msg)])
    raw = spec.get("settings") or {}
    if not isinstance(raw, Mapping):
        raise InvalidInput("settings must be a mapping", [FieldError("spec.settings", "mapping")])
    try:
        settings = SETTINGS[kind].model_validate(_secrets_in(kind, raw))
    except ValidationError as err:
        raise spec_errors(err, "spec.settings") from err
    return kind, settings


def canonical_settings(kind: str, settings: _Settings) -> dict[str, Any]:
    """Settings as stored and exported: defaults left out, secrets as ``xFromEnv: VAR``."""
    out: dict[str, Any] = {}
    for key, value in settings.model_dump(by_alias=True, exclude_defaults=True).items():
        field = "sender" if key == "from" else key
        if field in SECRET_FIELDS[kind] and isinstance(value, dict):
            out[f"{_camel(field)}FromEnv"] = value["env"]
        else:
            out[key] = list(value) if isinstance(value, tuple) else value
    return out


class ReceiverKind:
    """Parses ``kind: Receiver`` manifests (receivers belong to no project)."""

    kind: ClassVar[str] = "Receiver"
    project_scoped: ClassVar[bool] = False

    def parse(self, doc: Mapping[str, Any]) -> Resource:
        """Validate a manifest into its canonical resource."""
        _, name, spec = envelope(doc, project_scoped=False)
        if re.match(NAME_PATTERN, name) is None:
            msg = "lower-case letters, digits, '.', '_' and '-' (at most 64)"
            raise InvalidInput(f"metadata.name: {msg}", [FieldError("metadata.name", msg)])
        kind, settings = parse_receiver_spec(spec)
        return Resource(
            self.kind, "", name, {"type": kind, "settings": canonical_settings(kind, settings)}
        )


def _secret(ref: SecretRef | None, field: str, env: Mapping[str, str]) -> str | None:
    if ref is None:
        return None
    value = env.get(ref.env)
    if not value:
        msg = f"environment variable {ref.env} is not set on the server"
        raise InvalidInput(msg, [FieldError(f"spec.settings.{_camel(field)}FromEnv", msg)])
    return value


def build_notifier(
    resource: Resource, env: Mapping[str, str], retry: RetryPolicy | None = None
) -> Notifier:
    """The notifier a stored receiver describes, its secrets read from ``env``.

    Raises:
        InvalidInput: a referenced environment variable is not set (the path names it).
    """
    kind, settings = parse_receiver_spec(resource.spec)
    if isinstance(settings, WebhookSettings):
        return WebhookNotifier(
            _secret(settings.url, "url", env) or "",
            secret=_secret(settings.secret, "secret", env),
            payload_format=settings.format,
            max_alerts=settings.max_alerts,
            retry=retry,
        )
    if isinstance(settings, SlackSettings):
        return SlackNotifier(_secret(settings.url, "url", env) or "", retry=retry)
    if isinstance(settings, PagerDutySettings):
        key = _secret(settings.routing_key, "routing_key", env) or ""
        return PagerDutyNotifier(key, url=settings.url, source=settings.source, retry=retry)
    assert isinstance(settings, EmailSettings), kind  # noqa: S101 - SETTINGS has four types
    return EmailNotifier(
        SmtpConfig(
            host=settings.host,
            port=settings.port,
            sender=settings.sender,
            recipients=settings.to,
            username=settings.username,
            password=_secret(settings.password, "password", env),
            starttls=settings.starttls,
        )
    )
