"""``kind: Silence``: label matchers muting a project's alerts from ``starts_at`` to ``ends_at``.

``spec``: ``matchers`` (``monitor="checkout-latency"``; at least one, not all matching the
empty label set), ``starts_at``, and ``ends_at`` or ``duration`` (a file needs ``starts_at``
with ``duration`` so that applying it twice gives the same silence), ``created_by``,
``comment``. Expiring a silence sets ``ends_at`` to the moment of expiry.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from llmpulse.alerts.matchers import parse_matcher
from llmpulse.alerts.silences import Silence
from llmpulse.config.resources import (
    NAME_PATTERN,
    Resource,
    canonical_matchers,
    envelope,
    spec_errors,
)
from llmpulse.domain.durations import parse_duration
from llmpulse.domain.errors import FieldError, InvalidInput


class SilenceBody(BaseModel):
    """A silence as written in YAML or sent to the API."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    matchers: tuple[str, ...] = Field(min_length=1)
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    duration: timedelta | None = None
    created_by: str = Field(default="", max_length=200)
    comment: str = Field(default="", max_length=2000)

    @field_validator("matchers")
    @classmethod
    def _matchers_parse(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return canonical_matchers(value)

    @field_validator("duration", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return parse_duration(value, "duration", unit_required=True)
            except InvalidInput as exc:
                raise ValueError(exc.detail) from exc
        return value


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_silence_spec(spec: Mapping[str, Any], name: str) -> Silence:
    """Validate a silence spec into an `alerts.silences.Silence`.

    Raises:
        InvalidInput: a bad field, no end, ``duration`` without ``starts_at``, an end before
            the start, or matchers that would match every alert.
    """
    try:
        body = SilenceBody.model_validate(dict(spec))
    except ValidationError as err:
        raise spec_errors(err) from err
    if body.starts_at is None:
        raise InvalidInput("spec.starts_at is required", [FieldError("spec.starts_at", "required")])
    if (body.ends_at is None) == (body.duration is None):
        msg = "give exactly one of ends_at and duration"
        raise InvalidInput(msg, [FieldError("spec.ends_at", msg)])
    ends = (
        body.ends_at
        if body.ends_at is not None
        else body.starts_at + (body.duration or timedelta(0))
    )
    try:
        return Silence(
            id=name,
            matchers=tuple(parse_matcher(m) for m in body.matchers),
            starts_at=body.starts_at.astimezone(UTC),
            ends_at=ends.astimezone(UTC),
            created_by=body.created_by,
            comment=body.comment,
        )
    except InvalidInput as exc:
        field = "ends_at" if "ends_at" in exc.detail else "matchers"
        raise InvalidInput(exc.detail, [FieldError(f"spec.{field}", exc.detail)]) from exc


def silence_spec(silence: Silence) -> dict[str, Any]:
    """The canonical spec of a silence (``ends_at`` always explicit)."""
    out: dict[str, Any] = {
        "matchers": [str(m) for m in silence.matchers],
        "starts_at": _iso(silence.starts_at),
        "ends_at": _iso(silence.ends_at),
    }
    if silence.created_by:
        out["created_by"] = silence.created_by
    if silence.comment:
        out["comment"] = silence.comment
    return out


def silence_of(resource: Resource) -> Silence:
    """The `Silence` of a stored silence resource."""
    return parse_silence_spec(resource.spec, resource.name)


class SilenceKind:
    """Parses ``kind: Silence`` manifests."""

    kind: ClassVar[str] = "Silence"
    project_scoped: ClassVar[bool] = True

    def parse(self, doc: Mapping[str, Any]) -> Resource:
        """Validate a manifest into its canonical resource."""
        project, name, spec = envelope(doc, project_scoped=True)
        if not _valid_name(name):
            msg = "lower-case letters, digits, '.', '_' and '-' (at most 64)"
            raise InvalidInput(f"metadata.name: {msg}", [FieldError("metadata.name", msg)])
        return Resource(self.kind, project, name, silence_spec(parse_silence_spec(spec, name)))


def _valid_name(name: str) -> bool:
    return re.match(NAME_PATTERN, name) is not None
