"""An SLO as users author it (``apiVersion: llmpulse/v1``, ``kind: SLO``), validated once.

```yaml
apiVersion: llmpulse/v1
kind: SLO
metadata: {name: answer-availability, project: rag-demo}
spec:
  objective: 0.995            # target fraction of good events, in (0, 1)
  window: 28d                 # rolling 1h..90d, or calendar_month
  sli: {type: availability}   # availability | latency | latency_quantile | cost | quality | ratio
  filter: "tier = 'enterprise'"   # optional scope (cohort grammar)
  alerting: {page: true, ticket: true}
```

SLI types (METHODS.md §2.1): ``availability`` (good = status is not ERROR), ``latency``
(good = latency ≤ ``threshold_ms``), ``latency_quantile`` (time slices: a ``slice`` is good
when its ``quantile`` of latency is ≤ ``threshold_ms``), ``cost`` (good = the trace's total
cost ≤ ``threshold_usd``; one event per trace), ``quality`` (valid = spans with the
``annotation``; good = its latest score ≥ ``min_score`` or its label = ``label``) and
``ratio`` (good and valid as cohort expressions). Events are root spans (requests) unless
``spans: all``; quality and ratio SLIs count every span by default.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from llmpulse.analysis.slo import SLO, CalendarMonth
from llmpulse.analysis.slo.budget import MAX_ROLLING, MIN_ROLLING
from llmpulse.domain.cohorts import parse_cohort
from llmpulse.domain.durations import parse_duration
from llmpulse.domain.errors import FieldError, InvalidInput

API_VERSION: Literal["llmpulse/v1"] = "llmpulse/v1"
KIND: Literal["SLO"] = "SLO"
NAME_PATTERN = r"^[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?$"
CALENDAR_MONTH = "calendar_month"
Spans = Literal["root", "all"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


def _expression(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        parse_cohort("check", value)
    except InvalidInput as err:
        raise ValueError(err.detail) from None
    return value


def _slice(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return parse_duration(value, "slice", unit_required=True)
        except InvalidInput as err:
            raise ValueError(err.detail) from None
    return value


class AvailabilitySli(_Model):
    """Good = status is not ERROR."""

    type: Literal["availability"]


class LatencySli(_Model):
    """Good = latency at most ``threshold_ms``."""

    type: Literal["latency"]
    threshold_ms: float = Field(gt=0, allow_inf_nan=False)


class LatencyQuantileSli(_Model):
    """Time slices: a slice with spans is good when its latency quantile is ≤ the threshold."""

    type: Literal["latency_quantile"]
    threshold_ms: float = Field(gt=0, allow_inf_nan=False)
    quantile: float = Field(0.95, gt=0, lt=1)
    slice: timedelta = timedelta(minutes=5)

    @field_validator("slice", mode="before")
    @classmethod
    def _slice_text(cls, value: Any) -> Any:
        return _slice(value)

    @field_validator("slice")
    @classmethod
    def _slice_minutes(cls, value: timedelta) -> timedelta:
        if value < timedelta(minutes=1) or value % timedelta(minutes=1):
            raise ValueError("slice must be a whole number of minutes")
        return value


class CostSli(_Model):
    """One event per trace (its root span): good when the trace's total cost is ≤ the bar."""

    type: Literal["cost"]
    threshold_usd: float = Field(ge=0, allow_inf_nan=False)


class QualitySli(_Model):
    """Valid = spans with the annotation; good = latest score ≥ ``min_score`` or label match."""

    type: Literal["quality"]
    annotation: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.\-]+$")
    min_score: float | None = Field(None, allow_inf_nan=False)
    label: str | None = Field(None, min_length=1, max_length=200)

    @model_validator(mode="after")
    def _one_bar(self) -> QualitySli:
        if (self.min_score is None) == (self.label is None):
            raise ValueError("give exactly one of min_score and label")
        return self


class RatioSli(_Model):
    """Good and valid events as cohort expressions (valid defaults to every event)."""

    type: Literal["ratio"]
    good: str = Field(min_length=1, max_length=4000)
    valid: str | None = Field(None, min_length=1, max_length=4000)

    @field_validator("good", "valid")
    @classmethod
    def _parses(cls, value: str | None) -> str | None:
        return _expression(value)


Sli = Annotated[
    AvailabilitySli | LatencySli | LatencyQuantileSli | CostSli | QualitySli | RatioSli,
    Field(discriminator="type"),
]


class Alerting(_Model):
    """Which burn-rate severities alert (METHODS.md §2.4), and labels added to both."""

    page: bool = True
    ticket: bool = True
    labels: dict[str, str] = Field(default_factory=dict)


class SloSpec(_Model):
    """One SLO of one project."""

    name: str = Field(pattern=NAME_PATTERN, description="Unique within the project")
    project: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=1050)
    objective: Decimal = Field(gt=0, lt=1, description="Target fraction of good events")
    window: timedelta | Literal["calendar_month"] = timedelta(days=28)
    sli: Sli
    filter: str | None = Field(None, max_length=4000, description="Scope (cohort grammar)")
    spans: Spans | None = None
    alerting: Alerting = Field(default_factory=Alerting)
    labels: dict[str, str] = Field(default_factory=dict)
    at_risk_below: float = Field(0.25, ge=0, lt=1)

    @field_validator("objective", mode="before")
    @classmethod
    def _exact(cls, value: Any) -> Any:
        return Decimal(str(value)) if isinstance(value, float) else value

    @field_validator("window", mode="before")
    @classmethod
    def _window(cls, value: Any) -> Any:
        if value == CALENDAR_MONTH:
            return value
        if isinstance(value, str):
            try:
                d = parse_duration(value, "window", unit_required=True)
            except InvalidInput as err:
                raise ValueError(f"{err.detail}, or {CALENDAR_MONTH}") from None
            return d
        return value

    @field_validator("window")
    @classmethod
    def _window_range(cls, value: timedelta | str) -> timedelta | str:
        if isinstance(value, timedelta) and not MIN_ROLLING <= value <= MAX_ROLLING:
            raise ValueError("a rolling window must be between 1h and 90d")
        return value

    @field_validator("filter")
    @classmethod
    def _filter(cls, value: str | None) -> str | None:
        return _expression(value)

    @property
    def window_text(self) -> str:
        """The window as written in manifests: ``30d`` or ``calendar_month``."""
        return self.window if isinstance(self.window, str) else format_duration(self.window)

    @property
    def event_spans(self) -> Spans:
        """Which spans are events: root spans unless ``spans`` says otherwise."""
        if self.spans is not None:
            return self.spans
        return "all" if self.sli.type in ("quality", "ratio") else "root"

    def to_slo(self) -> SLO:
        """The pure arithmetic's view (objective, period, at-risk bar)."""
        period = CalendarMonth() if self.window == CALENDAR_MONTH else self.window
        assert not isinstance(period, str)  # noqa: S101  (narrowed: calendar month handled)
        return SLO(self.objective, period, self.at_risk_below)

    @classmethod
    def from_manifest(cls, doc: Any, path: str = "", project: str | None = None) -> SloSpec:
        """Read a ``kind: SLO`` manifest; ``project`` fills a missing ``metadata.project``.

        Raises:
            InvalidInput: wrong envelope or an invalid field, each error naming its path
                (``spec.sli.threshold_ms``, ``metadata.name``, …).
        """
        prefix = f"{path}." if path else ""
        meta, spec = envelope(doc, path, API_VERSION, KIND)
        body = {**spec, "name": meta.get("name"), "project": meta.get("project") or project}
        return validate(cls, body, prefix)

    def to_manifest(self) -> dict[str, Any]:
        """The manifest; `from_manifest(to_manifest())` equals this spec."""
        spec: dict[str, Any] = {
            "objective": float(self.objective),
            "window": self.window_text,
            "sli": _sli_dict(self.sli),
        }
        if self.description:
            spec["description"] = self.description
        if self.filter is not None:
            spec["filter"] = self.filter
        if self.spans is not None:
            spec["spans"] = self.spans
        if self.alerting != Alerting():
            spec["alerting"] = self.alerting.model_dump()
        if self.labels:
            spec["labels"] = dict(self.labels)
        if self.at_risk_below != 0.25:
            spec["at_risk_below"] = self.at_risk_below
        return {
            "apiVersion": API_VERSION,
            "kind": KIND,
            "metadata": {"name": self.name, "project": self.project},
            "spec": spec,
        }


def _sli_dict(sli: BaseModel) -> dict[str, Any]:
    out = sli.model_dump(exclude_none=True)
    if isinstance(sli, LatencyQuantileSli):
        out["slice"] = format_duration(sli.slice)
    return out


def format_duration(value: timedelta) -> str:
    """The shortest ``5m`` / ``2h`` / ``28d`` text for a whole number of seconds."""
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def envelope(
    doc: Any, path: str, api_version: str, kind: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check ``apiVersion`` and ``kind``; return ``metadata`` and ``spec`` (both mappings)."""
    prefix = f"{path}." if path else ""
    if not isinstance(doc, dict):
        raise InvalidInput("a manifest must be a mapping", [FieldError(path or "$", "mapping")])
    for key, want in (("apiVersion", api_version), ("kind", kind)):
        if doc.get(key) != want:
            raise InvalidInput(
                f"{key} must be {want}", [FieldError(f"{prefix}{key}", f"expected {want}")]
            )
    meta, spec = doc.get("metadata") or {}, doc.get("spec") or {}
    for key, value in (("metadata", meta), ("spec", spec)):
        if not isinstance(value, dict):
            raise InvalidInput(
                f"{key} must be a mapping", [FieldError(f"{prefix}{key}", "mapping")]
            )
    return meta, spec


_SLI_TAGS = frozenset({"availability", "latency", "latency_quantile", "cost", "quality", "ratio"})


def validate(cls: type[SloSpec], body: dict[str, Any], prefix: str) -> SloSpec:
    """Validate a flat body; pydantic's locations become ``spec.<field>`` / ``metadata.<f>``."""
    try:
        return cls.model_validate(body)
    except ValidationError as err:
        errors = []
        for e in err.errors():
            loc = [str(p) for p in e["loc"] if str(p) not in _SLI_TAGS]
            head = "metadata" if loc and loc[0] in ("name", "project") else "spec"
            errors.append(FieldError(prefix + ".".join([head, *loc]), _message(e["msg"])))
        raise InvalidInput(f"invalid SLO: {errors[0].path}: {errors[0].message}", errors) from None


def _message(msg: str) -> str:
    return msg.removeprefix("Value error, ")
