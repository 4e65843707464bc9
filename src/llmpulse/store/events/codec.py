"""Spans and annotations to Arrow tables (the write path) and rows back to domain objects.

The write path is the ingest hot path: columns are built one at a time with C-level helpers
(`attrgetter`, `orjson`, `pyarrow.array`) and no per-span dict is ever made. Empty JSON values
(no messages, no metadata) are stored as NULL, which costs nothing on disk and on decode.
"""

from __future__ import annotations

import base64
import importlib.abc
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any

import orjson
import pyarrow as pa

from llmpulse.clock import from_unix_us, to_unix_us
from llmpulse.domain.errors import FieldError, InvalidInput
from llmpulse.domain.ids import PredictionId, ProjectName, SpanId, TraceId
from llmpulse.domain.spans import (
    Annotation,
    Message,
    RetrievedDocument,
    Span,
    SpanEvent,
    SpanKind,
    StatusCode,
    latency_ms,
)
from llmpulse.store.events import derived, summary_row
from llmpulse.store.events.columns import (
    ANNOTATION_COLUMN_NAMES,
    ANNOTATION_COLUMNS,
    SPAN_COLUMN_NAMES,
    SPAN_COLUMNS,
    Column,
    ColumnType,
)
from llmpulse.store.events.layout import METADATA_KV_COLUMN, PREVIEW_CHARS, SEARCH_TEXT_COLUMN

_UTC_US = pa.timestamp("us", tz="UTC")
_NAIVE_US = pa.timestamp("us")
_ARROW_TYPES: dict[ColumnType, pa.DataType] = {
    ColumnType.TEXT: pa.string(),
    ColumnType.INT: pa.int64(),
    ColumnType.FLOAT: pa.float64(),
    ColumnType.TIMESTAMP: _NAIVE_US,
    ColumnType.JSON: pa.string(),
    ColumnType.TEXT_LIST: pa.list_(pa.string()),
}
_JSON_OPTS = orjson.OPT_NON_STR_KEYS


def _json_default(value: object) -> object:
    """Serialize what OTLP attributes may hold beyond JSON: bytes as base64, sets as lists."""
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)


def skip_pandas_probe() -> None:
    """Stop pyarrow from importing pandas into a process that never hands it pandas objects.

    The first ``pa.array`` of a Python list makes pyarrow import pandas, only to ask whether
    the list is a pandas object: in the server and in each decode worker process, that is
    56 MiB of RSS and half a second in the first ingest request (`create_app` and the decode
    pool's worker initializer call this). With pandas hidden for that one probe, pyarrow
    records that pandas is not there; an explicit conversion (``to_pandas``) still imports it
    when asked. No-op once pandas is imported.
    """
    if "pandas" in sys.modules:
        return
    sys.meta_path.insert(0, _NO_PANDAS)
    try:
        pa.array([None], type=pa.null())
    finally:
        sys.meta_path.remove(_NO_PANDAS)


class _NoPandasFinder(importlib.abc.MetaPathFinder):
    """An import finder under which ``import pandas`` fails (see `skip_pandas_probe`)."""

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> None:
        if fullname == "pandas":
            raise ImportError("pandas is hidden from pyarrow's probe")
        return None


_NO_PANDAS = _NoPandasFinder()


def dumps_json(value: Any) -> str | None:
    """Encode one JSON column value; empty containers become NULL."""
    if not value:
        return None
    return orjson.dumps(value, default=_json_default, option=_JSON_OPTS).decode()


def _column_values(items: Sequence[Any], column: Column) -> list[Any]:
    """Read one column's values from dataclass instances (same attribute name)."""
    values = list(map(attrgetter(column.name), items))
    if column.type is ColumnType.JSON:
        return [dumps_json(v) for v in values]
    if column.type is ColumnType.TEXT_LIST:
        return [list(v) if v else None for v in values]
    return values


def _to_array(column: Column, values: Sequence[Any]) -> pa.Array:
    """Build one Arrow array; aware datetimes become naive UTC microseconds."""
    if column.type is ColumnType.TIMESTAMP:
        return pa.array(values, type=_UTC_US).cast(_NAIVE_US)
    return pa.array(values, type=_ARROW_TYPES[column.type])


def _build_column(items: Sequence[Any], column: Column) -> pa.Array:
    """One column's Arrow array; a value of the wrong type fails the batch naming the field."""
    try:
        return _to_array(column, _column_values(items, column))
    except (pa.ArrowException, TypeError, ValueError, OverflowError) as e:
        raise _unstorable(column, e) from e


def _unstorable(column: Column, e: Exception) -> InvalidInput:
    return InvalidInput(f"cannot store field {column.name}: {e}", [FieldError(column.name, str(e))])


# -- span rows: the ingest hot path ----------------------------------------------------------

SpanRow = list[Any]
"""One span as the values of `SPAN_COLUMNS`, in order, before encoding: ``start_time`` and
``end_time`` are integer Unix microseconds (UTC); messages, documents and events are tuples of
their domain objects; metadata, attributes and resource attributes are dicts; tags a tuple."""

ROW_INDEX: dict[str, int] = {c.name: i for i, c in enumerate(SPAN_COLUMNS)}
"""Position of each span column in a `SpanRow`."""


def span_to_row(span: Span) -> SpanRow:
    """The `SpanRow` of a domain `Span`."""
    start, end = to_unix_us(span.start_time), to_unix_us(span.end_time)
    return [
        span.project, span.trace_id, span.span_id, span.parent_span_id, span.name, span.kind,
        start, end, latency_ms(start, end), span.status_code, span.status_message,
        span.model, span.provider, span.prompt_tokens, span.completion_tokens,
        span.total_tokens, span.cost_usd, span.session_id, span.user_id, span.environment,
        span.version, span.prediction_id, span.http_status, span.input_value,
        span.output_value, span.exception_type, span.exception_message, span.input_messages,
        span.output_messages, span.documents, span.events, span.metadata, span.attributes,
        span.resource_attributes, span.tags,
    ]  # fmt: skip


def span_from_row(row: SpanRow) -> Span:
    """The domain `Span` of a `SpanRow` (the inverse of `span_to_row`)."""
    (
        project, trace_id, span_id, parent_span_id, name, kind, start, end, _latency,
        status_code, status_message, model, provider, prompt_tokens, completion_tokens,
        total_tokens, cost_usd, session_id, user_id, environment, version, prediction_id,
        http_status, input_value, output_value, exception_type, exception_message,
        input_messages, output_messages, documents, events, metadata, attributes,
        resource_attributes, tags,
    ) = row  # fmt: skip
    return Span(
        project=project,
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=parent_span_id,
        name=name,
        kind=kind,
        start_time=from_unix_us(start),
        end_time=from_unix_us(end),
        status_code=status_code,
        status_message=status_message,
        model=model,
        provider=provider,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        total_tokens=total_tokens,
        cost_usd=cost_usd,
        session_id=session_id,
        user_id=user_id,
        environment=environment,
        version=version,
        prediction_id=prediction_id,
        http_status=http_status,
        input_value=input_value,
        output_value=output_value,
        input_messages=input_messages,
        output_messages=output_messages,
        documents=documents,
        exception_type=exception_type,
        exception_message=exception_message,
        events=events,
        metadata=metadata,
        tags=tags,
        attributes=attributes,
        resource_attributes=resource_attributes,
    )


def _row_values(column: Column, values: Sequence[Any]) -> Sequence[Any]:
    """One column's values as stored: JSON encoded (NULL when empty), tags a list or NULL."""
    kind = column.type
    if kind is ColumnType.JSON:  # `dumps_json` inlined: one call per value less
        dumps, default, opts = orjson.dumps, _json_default, _JSON_OPTS
        return [dumps(v, default=default, option=opts).decode() if v else None for v in values]
    if kind is ColumnType.TEXT_LIST:
        return [list(v) if v else None for v in values]
    return values


def _row_array(column: Column, values: Sequence[Any]) -> pa.Array:
    if column.type is ColumnType.TIMESTAMP:
        return pa.array(values, type=_NAIVE_US)
    return pa.array(values, type=_ARROW_TYPES[column.type])


_PREVIEW_AT = ROW_INDEX["input_value"]
_MESSAGES_AT = ROW_INDEX["input_messages"]
_METADATA_AT = ROW_INDEX["metadata"]


def rows_to_arrow(rows: Sequence[SpanRow]) -> pa.Table:
    """Build the Arrow table of span rows: the columns of `SPAN_COLUMNS`, then the derived
    columns built here (`derived`, `summary_row`), in table order, so that the store's commit
    does not derive them in SQL (ADR 0059; `layout.brought_columns` reads which came).

    Raises:
        InvalidInput: a field holds a value its column cannot take (nothing is stored).
    """
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in SPAN_COLUMNS]
    arrays = []
    stored: dict[str, Sequence[Any]] = {}
    for column, values in zip(SPAN_COLUMNS, columns, strict=True):
        try:
            stored[column.name] = as_stored = _row_values(column, values)
            arrays.append(_row_array(column, as_stored))
        except (pa.ArrowException, TypeError, ValueError, OverflowError) as e:
            raise _unstorable(column, e) from e
    names = list(SPAN_COLUMN_NAMES)
    pairs = derived.metadata_pairs(columns[_METADATA_AT])
    if pairs is not None:
        names.append(METADATA_KV_COLUMN)
        arrays.append(pa.array(pairs, type=pa.list_(pa.string())))
    texts = derived.search_texts(dict(zip(SPAN_COLUMN_NAMES, columns, strict=True)))
    if texts is not None:
        names.append(SEARCH_TEXT_COLUMN)
        arrays.append(pa.array(texts, type=pa.string()))
    chars = PREVIEW_CHARS + 1  # as `INPUT_PREVIEW_SQL` keeps
    stored["input_value"] = [
        summary_row.preview(value, messages, chars)
        for value, messages in zip(columns[_PREVIEW_AT], columns[_MESSAGES_AT], strict=True)
    ]
    try:
        arrays.append(pa.array(summary_row.texts(stored), type=pa.string()))
    except (TypeError, ValueError, OverflowError) as e:  # what orjson cannot write
        raise InvalidInput(
            f"cannot store the span's summary: {e}", [FieldError("attributes", str(e))]
        ) from e
    names.append(summary_row.COLUMN)
    return pa.Table.from_arrays(arrays, names=names)


def spans_to_arrow(spans: Sequence[Span]) -> pa.Table:
    """Build the Arrow table of ``spans`` as `rows_to_arrow` does.

    Raises:
        InvalidInput: a field holds a value its column cannot take (nothing is stored).
    """
    return rows_to_arrow([span_to_row(s) for s in spans])


def annotations_to_arrow(annotations: Sequence[Annotation]) -> pa.Table:
    """Build the Arrow table of ``annotations`` with the columns of `ANNOTATION_COLUMNS`.

    Raises:
        InvalidInput: a field holds a value its column cannot take (nothing is stored).
    """
    arrays = [_build_column(annotations, c) for c in ANNOTATION_COLUMNS]
    return pa.Table.from_arrays(arrays, names=list(ANNOTATION_COLUMN_NAMES))


def utc(value: datetime) -> datetime:
    """Engines hand back naive UTC timestamps; make them aware."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _loads(text: str | None) -> Any:
    return orjson.loads(text) if text else None


def _message(d: dict[str, Any]) -> Message:
    return Message(
        role=d.get("role", ""),
        content=d.get("content", ""),
        tool_calls=tuple(d.get("tool_calls") or ()),
    )


def _document(d: dict[str, Any]) -> RetrievedDocument:
    return RetrievedDocument(
        id=d.get("id"),
        content=d.get("content", ""),
        score=d.get("score"),
        metadata=d.get("metadata"),
    )


def _event(d: dict[str, Any]) -> SpanEvent:
    return SpanEvent(
        name=d.get("name", ""),
        time=utc(datetime.fromisoformat(d["time"])),
        attributes=d.get("attributes") or {},
    )


def _tuple_of(text: str | None, make: Callable[[dict[str, Any]], Any]) -> tuple[Any, ...]:
    items = _loads(text)
    return tuple(make(d) for d in items) if items else ()


def row_to_span(row: Sequence[Any]) -> Span:
    """Turn one row with the columns of `SPAN_COLUMNS`, in order, into a `Span`."""
    r = dict(zip((c.name for c in SPAN_COLUMNS), row, strict=True))
    return Span(
        project=ProjectName(r["project"]),
        trace_id=TraceId(r["trace_id"]),
        span_id=SpanId(r["span_id"]),
        parent_span_id=None if r["parent_span_id"] is None else SpanId(r["parent_span_id"]),
        name=r["name"],
        kind=SpanKind(r["kind"]),
        start_time=utc(r["start_time"]),
        end_time=utc(r["end_time"]),
        status_code=StatusCode(r["status_code"]),
        status_message=r["status_message"],
        model=r["model"],
        provider=r["provider"],
        prompt_tokens=r["prompt_tokens"],
        completion_tokens=r["completion_tokens"],
        total_tokens=r["total_tokens"],
        cost_usd=r["cost_usd"],
        session_id=r["session_id"],
        user_id=r["user_id"],
        environment=r["environment"],
        version=r["version"],
        prediction_id=None if r["prediction_id"] is None else PredictionId(r["prediction_id"]),
        http_status=r["http_status"],
        input_value=r["input_value"],
        output_value=r["output_value"],
        input_messages=_tuple_of(r["input_messages"], _message),
        output_messages=_tuple_of(r["output_messages"], _message),
        documents=_tuple_of(r["documents"], _document),
        exception_type=r["exception_type"],
        exception_message=r["exception_message"],
        events=_tuple_of(r["events"], _event),
        metadata=_loads(r["metadata"]) or {},
        tags=tuple(r["tags"] or ()),
        attributes=_loads(r["attributes"]) or {},
        resource_attributes=_loads(r["resource_attributes"]) or {},
    )


def row_to_annotation(row: Sequence[Any]) -> Annotation:
    """Turn one row with the columns of `ANNOTATION_COLUMNS`, in order, into an `Annotation`."""
    r = dict(zip((c.name for c in ANNOTATION_COLUMNS), row, strict=True))
    return Annotation(
        id=r["id"],
        project=ProjectName(r["project"]),
        span_id=SpanId(r["span_id"]) if r["span_id"] is not None else None,
        prediction_id=PredictionId(r["prediction_id"]) if r["prediction_id"] is not None else None,
        name=r["name"],
        annotator_kind=r["annotator_kind"],
        created_at=utc(r["created_at"]),
        label=r["label"],
        score=r["score"],
        explanation=r["explanation"],
        metadata=_loads(r["metadata"]) or {},
    )
