"""The result of decoding one export request: the spans kept and the spans refused."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field

from llmpulse.domain.spans import Rejection, Span
from llmpulse.store.events.codec import SpanRow


@dataclass(frozen=True, slots=True)
class Normalized:
    """Spans that passed validation and, by field path, the ones that did not."""

    spans: list[Span]
    rejections: list[Rejection]


Origin = tuple[int, str, list[int] | None]
"""Where a run of rows came from: the index of its first row in ``RowBatch.rows``, the path of
its scope (``resource_spans[0].scope_spans[1]``) and the span index of each row in that scope
(None when the rows are the scope's spans 0, 1, 2, … in order: the common case, kept cheap)."""


@dataclass(frozen=True, slots=True)
class RowBatch:
    """The same as `Normalized`, with the spans kept as rows in the event store's columns.

    ``origins`` (one entry per scope, not per span) lets a row found unstorable later, while
    the batch is turned into columns, be reported by the path of the span it came from.
    """

    rows: list[SpanRow]
    rejections: list[Rejection]
    origins: list[Origin] = field(default_factory=list)

    def add_origin(self, scope_path: str, span_indexes: list[int] | None) -> None:
        """Record that the rows appended from now on come from ``scope_path``."""
        self.origins.append((len(self.rows), scope_path, span_indexes))

    def span_path(self, row_index: int) -> str:
        """The OTLP path of the span that became ``rows[row_index]`` (``rows[i]`` if unknown)."""
        at = bisect_right([o[0] for o in self.origins], row_index) - 1
        if at < 0:
            return f"rows[{row_index}]"
        first, scope_path, indexes = self.origins[at]
        offset = row_index - first
        span_index = offset if indexes is None else indexes[offset]
        return f"{scope_path}.spans[{span_index}]"
