"""A monitor as users author it (YAML, REST, SDK): one frozen pydantic model, validated once.

The YAML form is a manifest (``apiVersion: llmpulse/v1``, ``kind: Monitor``, ``metadata``,
``spec``); `MonitorSpec.from_manifest` reads it and `MonitorSpec.to_manifest` writes it back so
that apply → export → apply shows no diff. Field meanings (issue 10, item 1):

- ``metric``: any metric of the metrics engine (``latency_ms:p95``, ``error:rate``, …).
- ``filters``: span filters as the REST API takes them (``attr=key:value``, ``kind=llm``, …).
- ``segment_by``: optional key; one alert series per value of that key (fan-out).
- ``detector``: registry name and parameters; none = the default adaptive detector.
- ``every`` / ``window`` / ``for``: evaluation interval, data window of each evaluation, and how
  long the condition must hold (pending) before firing.
- ``min_samples``: evaluations with fewer spans in the window are ``no_data`` (never "normal").
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from llmpulse.analysis.detectors.registry import DEFAULT_DETECTOR, build
from llmpulse.domain.durations import parse_duration
from llmpulse.domain.errors import FieldError, InvalidInput
from llmpulse.domain.metrics import parse_metric
from llmpulse.monitors.policy import ErrorPolicy, NoDataPolicy, StatePolicy

API_VERSION: Literal["llmpulse/v1"] = "llmpulse/v1"
KIND: Literal["Monitor"] = "Monitor"
_NAME = r"^[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?$"
Severity = Literal["critical", "warning", "info"]


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class DetectorRef(_Spec):
    """Which detector judges the series, with parameters over its defaults."""

    name: str = DEFAULT_DETECTOR
    params: dict[str, bool | int | float | str] = Field(default_factory=dict)


def _as_value_error(err: InvalidInput) -> ValueError:
    """Pydantic attaches the field path only to ValueError raised inside a validator."""
    return ValueError("; ".join(e.message for e in err.errors) or err.detail)


def _duration(value: Any, field: str) -> Any:
    if isinstance(value, str):
        try:
            return parse_duration(value, field, unit_required=True)
        except InvalidInput as err:
            raise _as_value_error(err) from err
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    return value


def format_duration(value: timedelta) -> str:
    """The shortest ``30s`` / ``5m`` / ``2h`` / ``7d`` text for a whole number of seconds."""
    seconds = int(value.total_seconds())
    for unit, size in (("w", 604_800), ("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


class MonitorSpec(_Spec):
    """One monitor: metric + filters + optional fan-out + detector + timing + routing labels."""

    name: str = Field(pattern=_NAME, description="Unique within the project")
    project: str = Field(min_length=1)
    metric: str = Field(min_length=1, description="e.g. latency_ms:p95, error:rate")
    filters: tuple[str, ...] = Field(default=(), description="REST-style span filters")
    segment_by: str | None = Field(default=None, description="One alert series per value")
    detector: DetectorRef = Field(default_factory=DetectorRef)
    every: timedelta = timedelta(minutes=1)
    window: timedelta = timedelta(minutes=10)
    for_: timedelta = Field(default=timedelta(0), alias="for")
    keep_firing_for: timedelta = timedelta(0)
    min_samples: int = Field(default=1, ge=1)
    severity: Severity = "warning"
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    no_data: NoDataPolicy = NoDataPolicy.NO_DATA
    on_error: ErrorPolicy = ErrorPolicy.ERROR
    enabled: bool = True

    model_config = ConfigDict(
        frozen=True, extra="forbid", str_strip_whitespace=True, populate_by_name=True
    )

    @field_validator("every", "window", "for_", "keep_firing_for", mode="before")
    @classmethod
    def _durations(cls, value: Any) -> Any:
        return _duration(value, "duration")

    @field_validator("metric")
    @classmethod
    def _metric_parses(cls, value: str) -> str:
        try:
            parse_metric(value, "metric")
        except InvalidInput as err:
            raise ValueError(err.detail) from err
        return value

    @field_validator("detector")
    @classmethod
    def _detector_builds(cls, value: DetectorRef) -> DetectorRef:
        try:
            build(value.name, value.params, "detector")
        except InvalidInput as err:
            raise ValueError(f"{err.detail} ({_as_value_error(err)})") from err
        return value

    @property
    def state_policy(self) -> StatePolicy:
        """The state machine's timers and no-data/error handling for this monitor."""
        return StatePolicy(
            for_duration=self.for_,
            keep_firing_for=self.keep_firing_for,
            no_data=self.no_data,
            on_error=self.on_error,
        )

    @classmethod
    def from_manifest(cls, doc: Any, path: str = "") -> MonitorSpec:
        """Read a ``kind: Monitor`` manifest (already parsed from YAML/JSON).

        Raises:
            InvalidInput: wrong envelope or an invalid field; each error names its path
                (e.g. ``spec.window``).
        """
        prefix = f"{path}." if path else ""
        if not isinstance(doc, dict):
            raise InvalidInput("a manifest must be a mapping", [FieldError(path or "$", "mapping")])
        if doc.get("apiVersion") != API_VERSION:
            raise InvalidInput(
                f"apiVersion must be {API_VERSION}",
                [FieldError(f"{prefix}apiVersion", f"expected {API_VERSION}")],
            )
        if doc.get("kind") != KIND:
            raise InvalidInput(
                f"kind must be {KIND}", [FieldError(f"{prefix}kind", f"expected {KIND}")]
            )
        meta = doc.get("metadata") or {}
        spec = doc.get("spec") or {}
        if not isinstance(meta, dict) or not isinstance(spec, dict):
            raise InvalidInput(
                "metadata and spec must be mappings", [FieldError(f"{prefix}spec", "mapping")]
            )
        body = {**spec, "name": meta.get("name"), "project": meta.get("project")}
        try:
            return cls.model_validate(body)
        except ValidationError as err:
            raise InvalidInput(
                "invalid monitor",
                [
                    FieldError(prefix + _field_path(tuple(str(p) for p in e["loc"])), str(e["msg"]))
                    for e in err.errors()
                ],
            ) from err

    def to_manifest(self) -> dict[str, Any]:
        """The manifest form; `from_manifest(to_manifest())` equals this spec."""
        spec: dict[str, Any] = {"metric": self.metric}
        defaults = MonitorSpec(name="x", project="x", metric=self.metric)
        for key in (
            "filters",
            "segment_by",
            "min_samples",
            "severity",
            "labels",
            "annotations",
            "no_data",
            "on_error",
            "enabled",
        ):
            value = getattr(self, key)
            if value != getattr(defaults, key):
                spec[key] = list(value) if isinstance(value, tuple) else value
                if isinstance(value, NoDataPolicy | ErrorPolicy):
                    spec[key] = value.value
        if self.detector != defaults.detector:
            spec["detector"] = self.detector.model_dump()
        for key, out in (
            ("every", "every"),
            ("window", "window"),
            ("for_", "for"),
            ("keep_firing_for", "keep_firing_for"),
        ):
            value = getattr(self, key)
            if value != getattr(defaults, key) or key in ("every", "window"):
                spec[out] = format_duration(value)
            elif key == "for_" and "for_" in self.model_fields_set:
                spec[out] = 0  # an explicit `for: 0` keeps the default detector's own `for` off
        return {
            "apiVersion": API_VERSION,
            "kind": KIND,
            "metadata": {"name": self.name, "project": self.project},
            "spec": spec,
        }


def _field_path(loc: tuple[str, ...]) -> str:
    """``spec.<field>`` for spec fields, ``metadata.name`` / ``metadata.project`` for those."""
    if loc and loc[0] in ("name", "project"):
        return "metadata." + ".".join(loc)
    head = ["for" if part == "for_" else part for part in loc]
    return "spec." + ".".join(head)
