"""The result of decoding one export request: the spans kept and the spans refused."""

from __future__ import annotations

from dataclasses import dataclass

from llmpulse.domain.spans import Rejection, Span
from llmpulse.store.events.codec import SpanRow


@dataclass(frozen=True, slots=True)
class Normalized:
    """Spans that passed validation and, by field path, the ones that did not."""

    spans: list[Span]
    rejections: list[Rejection]


@dataclass(frozen=True, slots=True)
class RowBatch:
    """The same as `Normalized`, with the spans kept as rows in the event store's columns."""

    rows: list[SpanRow]
    rejections: list[Rejection]
