"""The metric vocabulary: what can be measured on spans and how it is aggregated.

A metric is written ``<field>:<aggregation>`` (``latency_ms:p95``, ``error:rate``,
``cost_usd:per_trace``, ``annotation.feedback.label=thumbs_down:rate``); ``count`` alone is the
request volume. Fields:

* typed numbers: ``latency_ms``, ``prompt_tokens``, ``completion_tokens``, ``total_tokens``,
  ``cost_usd``;
* outcomes (0/1): ``error`` (status ERROR), ``http_4xx``, ``http_5xx`` (only spans that carry an
  HTTP status count toward the denominator);
* ``document_score``: mean relevance score of the documents a RETRIEVER span returned;
* ``prediction_score``: the SDK's prediction score (answer confidence);
* ``annotation.<name>.score`` (latest score of that annotation per span) and
  ``annotation.<name>.label=<label>`` (0/1: the latest label equals ``<label>``); annotations
  count toward the bucket of the span they annotate, however late they arrive;
* ``attr.<key>``: any numeric span attribute (non-numeric values are ignored).

Aggregations: ``count``, ``sum``, ``mean``, ``min``, ``max``, ``p50``, ``p90``, ``p95``, ``p99``
(exact, linear interpolation: METHODS.md 1.10), ``rate`` (Σ outcome / Σ spans with the field,
a ratio of sums: METHODS.md R1), and ``per_trace``, ``per_session``, ``per_user`` (sum divided by
the number of distinct traces, sessions or users).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from llmpulse.domain.errors import FieldError, InvalidInput


class Agg(StrEnum):
    """How a field is aggregated over a bucket or a group."""

    COUNT = "count"
    SUM = "sum"
    MEAN = "mean"
    MIN = "min"
    MAX = "max"
    P50 = "p50"
    P90 = "p90"
    P95 = "p95"
    P99 = "p99"
    RATE = "rate"
    PER_TRACE = "per_trace"
    PER_SESSION = "per_session"
    PER_USER = "per_user"


QUANTILES: dict[Agg, float] = {Agg.P50: 0.5, Agg.P90: 0.9, Agg.P95: 0.95, Agg.P99: 0.99}


class Source(StrEnum):
    """Where a field's value comes from."""

    COUNT = "count"
    COLUMN = "column"
    ERROR = "error"
    HTTP_CLASS = "http_class"
    DOCUMENT_SCORE = "document_score"
    ATTRIBUTE = "attribute"
    ANNOTATION_SCORE = "annotation_score"
    ANNOTATION_LABEL = "annotation_label"


NUMERIC_COLUMNS = ("latency_ms", "prompt_tokens", "completion_tokens", "total_tokens", "cost_usd")
_OUTCOME_SOURCES = frozenset({Source.ERROR, Source.HTTP_CLASS, Source.ANNOTATION_LABEL})


@dataclass(frozen=True, slots=True)
class MetricField:
    """A per-span value: a number, or a 0/1 outcome."""

    text: str
    source: Source
    column: str | None = None
    key: str | None = None  # attribute key or annotation name
    label: str | None = None  # for annotation labels
    http_class: int | None = None  # 4 or 5

    @property
    def is_outcome(self) -> bool:
        """True for 0/1 fields (rates)."""
        return self.source in _OUTCOME_SOURCES


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """One metric: a field and an aggregation."""

    field: MetricField
    agg: Agg

    @property
    def name(self) -> str:
        """The canonical text form, ``field:agg``."""
        if self.field.source is Source.COUNT:
            return "count"
        return f"{self.field.text}:{self.agg}"

    @property
    def quantile(self) -> float | None:
        """The quantile for pXX aggregations."""
        return QUANTILES.get(self.agg)


def _bad(text: str, path: str, why: str) -> InvalidInput:
    return InvalidInput(f"metric {text!r}: {why}", [FieldError(path, why)])


def parse_field(text: str, path: str = "field") -> MetricField:
    """Parse a field name (see the module docstring).

    Raises:
        InvalidInput: the field is not one llmpulse knows.
    """
    t = text.strip()
    if t == "count":
        return MetricField(t, Source.COUNT)
    if t in NUMERIC_COLUMNS:
        return MetricField(t, Source.COLUMN, column=t)
    if t == "error":
        return MetricField(t, Source.ERROR)
    if t in ("http_4xx", "http_5xx"):
        return MetricField(t, Source.HTTP_CLASS, http_class=int(t[5]))
    if t == "document_score":
        return MetricField(t, Source.DOCUMENT_SCORE)
    if t == "prediction_score":
        return MetricField(t, Source.ATTRIBUTE, key="prediction.score")
    if t.startswith("attr.") and len(t) > 5:
        return MetricField(t, Source.ATTRIBUTE, key=t[5:])
    if t.startswith("annotation."):
        name, dot, rest = t[len("annotation.") :].rpartition(".")
        if dot and name and rest == "score":
            return MetricField(t, Source.ANNOTATION_SCORE, key=name)
        name, sep, label = t[len("annotation.") :].partition(".label=")
        if sep and name and label:
            return MetricField(t, Source.ANNOTATION_LABEL, key=name, label=label)
    raise _bad(text, path, "unknown field; see the metrics reference for the field names")


def parse_metric(text: str, path: str = "metric") -> MetricSpec:
    """Parse ``field:agg`` (or ``count``) into a `MetricSpec`.

    Raises:
        InvalidInput: unknown field or aggregation, or an aggregation the field does not allow.
    """
    if text.strip() == "count":
        return MetricSpec(MetricField("count", Source.COUNT), Agg.COUNT)
    field_text, sep, agg_text = text.rpartition(":")
    if not sep:
        raise _bad(text, path, "write field:aggregation, e.g. latency_ms:p95 or error:rate")
    field = parse_field(field_text, path)
    try:
        agg = Agg(agg_text.strip().lower())
    except ValueError:
        allowed = ", ".join(a.value for a in Agg)
        raise _bad(text, path, f"unknown aggregation; one of {allowed}") from None
    if field.is_outcome and agg not in (Agg.RATE, Agg.SUM, Agg.COUNT):
        raise _bad(text, path, "an outcome field takes rate, sum or count")
    if not field.is_outcome and agg is Agg.RATE:
        raise _bad(text, path, "rate applies to outcome fields (error, http_4xx, labels)")
    return MetricSpec(field, agg)
