"""OTLP/JSON → `RawSpan` values, one span at a time, so one bad span never sinks the rest.

The OTLP/JSON mapping (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding) is
proto3 JSON with two twists: trace and span ids are hex strings (not base64), and keys are
lowerCamelCase (we also accept the original snake_case). int64 values (timestamps,
``intValue``) may be JSON strings or numbers; enums may be names or integers; ``bytesValue``
is base64.

The envelope is checked as a whole: a body that is not a JSON object holding a
``resourceSpans`` list is `InvalidInput`. Below that, a malformed resource, scope or span is
a `Rejection` at its path (``resource_spans[0].scope_spans[1].spans[7].trace_id``), and the
walk goes on with its neighbours.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

import orjson

from llmpulse.domain.errors import InvalidInput
from llmpulse.domain.spans import Rejection
from llmpulse.ingest.indexed import INDEXED_PREFIXES
from llmpulse.ingest.json_locate import error_offset, locate
from llmpulse.ingest.openinference import (
    TOO_DEEP,
    RawSpan,
    checked_row,
    project_rejection,
    resolve_project,
)
from llmpulse.ingest.types import RowBatch

_START = "start_time_unix_nano"
_END = "end_time_unix_nano"
_STATUS_CODES = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}


class _Bad(Exception):
    """A field of the JSON document is unusable; ``field`` is relative to the item walked."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason

    def at(self, path: str) -> Rejection:
        return Rejection(f"{path}.{self.field}" if self.field else path, self.reason)


def decode_json_rows(data: bytes, header_project: str | None) -> RowBatch:
    """Decode an OTLP/JSON ``ExportTraceServiceRequest`` and normalize its spans into rows.

    Raises:
        InvalidInput: the body is not JSON, or not an object with a ``resourceSpans`` list.
    """
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        where = locate(data, error_offset(data, exc.pos))
        at = f" at {where}" if where else ""
        raise InvalidInput(f"malformed JSON{at}: {exc}") from exc
    resource_spans = _get(doc, "resourceSpans", "resource_spans") if isinstance(doc, dict) else None
    if not isinstance(resource_spans, list):
        raise InvalidInput("OTLP/JSON body must be an object with a resourceSpans list")
    out = RowBatch(rows=[], rejections=[])
    for ri, item in enumerate(resource_spans):
        path = f"resource_spans[{ri}]"
        try:
            obj = _object(item)
            resource = _object(_get(obj, "resource"), "resource")
            resource_attrs = _attributes(_get(resource, "attributes"), "resource.attributes")
            scopes = _list(_get(obj, "scopeSpans", "scope_spans"), "scope_spans")
        except _Bad as bad:
            out.rejections.append(bad.at(path))
            continue
        project = resolve_project(resource_attrs, header_project)
        refused = project_rejection(project, resource_attrs, path)
        if refused is not None:
            n = sum(len(s.get("spans") or []) if isinstance(s, dict) else 1 for s in scopes)
            out.rejections.extend(refused for _ in range(max(1, n)))
            continue
        for si, scope_spans in enumerate(scopes):
            _decode_scope(scope_spans, resource_attrs, project, f"{path}.scope_spans[{si}]", out)
    return out


def _decode_scope(
    item: Any, resource_attrs: dict[str, Any], project: Any, path: str, out: RowBatch
) -> None:
    try:
        obj = _object(item)
        scope = _object(_get(obj, "scope"), "scope")
        scope_name = _string(_get(scope, "name"), "scope.name")
        scope_version = _string(_get(scope, "version"), "scope.version")
        spans = _list(_get(obj, "spans"), "spans")
    except _Bad as bad:
        out.rejections.append(bad.at(path))
        return
    kept: list[int] = []
    out.add_origin(path, kept)
    for pi, span in enumerate(spans):
        span_path = f"{path}.spans[{pi}]"
        try:
            raw = _raw_span(span)
        except _Bad as bad:
            out.rejections.append(bad.at(span_path))
            continue
        except RecursionError:
            out.rejections.append(Rejection(f"{span_path}.attributes", TOO_DEEP))
            continue
        row = checked_row(raw, resource_attrs, scope_name, scope_version, project)
        if isinstance(row, list):
            kept.append(pi)
            out.rows.append(row)
        else:
            out.rejections.append(Rejection(f"{span_path}.{row[0]}", row[1]))


def _raw_span(item: Any) -> RawSpan:
    span = _object(item, "")
    attrs = _attributes(_get(span, "attributes"))
    indexed = {key: attrs.pop(key) for key in [k for k in attrs if k.startswith(INDEXED_PREFIXES)]}
    status = _object(_get(span, "status"), "status")
    return RawSpan(
        trace_id=_hex_id(_get(span, "traceId", "trace_id"), "trace_id"),
        span_id=_hex_id(_get(span, "spanId", "span_id"), "span_id"),
        parent_span_id=_hex_id(_get(span, "parentSpanId", "parent_span_id"), "parent_span_id"),
        name=_string(_get(span, "name"), "name"),
        start_ns=_int64(_get(span, "startTimeUnixNano", _START), _START),
        end_ns=_int64(_get(span, "endTimeUnixNano", _END), _END),
        attributes=attrs,
        indexed=indexed,
        events=[_event(ev, i) for i, ev in enumerate(_list(_get(span, "events"), "events"))],
        status_code=_status_code(_get(status, "code")),
        status_message=_string(_get(status, "message"), "status.message"),
    )


def _event(item: Any, index: int) -> tuple[str, int, dict[str, Any]]:
    path = f"events[{index}]"
    event = _object(item, path)
    try:
        return (
            _string(_get(event, "name"), "name"),
            _int64(_get(event, "timeUnixNano", "time_unix_nano"), "time_unix_nano"),
            _attributes(_get(event, "attributes")),
        )
    except _Bad as bad:
        raise _Bad(f"{path}.{bad.field}", bad.reason) from None


def _get(obj: dict[str, Any], camel: str, snake: str | None = None) -> Any:
    value = obj.get(camel)
    if value is None and snake is not None:
        value = obj.get(snake)
    return value


def _object(value: Any, field: str = "") -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Bad(field, f"must be an object, got {type(value).__name__}")
    return value


def _list(value: Any, field: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Bad(field, f"must be a list, got {type(value).__name__}")
    return value


def _string(value: Any, field: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _Bad(field, f"must be a string, got {type(value).__name__}")
    return value


def _hex_id(value: Any, field: str) -> bytes:
    if value is None or value == "":
        return b""
    if not isinstance(value, str) or " " in value:
        raise _Bad(field, f"must be a hex string, got {value!r}")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise _Bad(field, f"must be a hex string, got {value!r}") from None


def _int64(value: Any, field: str) -> int:
    if value is None:
        return 0
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
    raise _Bad(field, f"must be an integer (number or decimal string), got {value!r}")


def _status_code(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, str) and value in _STATUS_CODES:
        return _STATUS_CODES[value]
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 2:
        return value
    raise _Bad("status.code", f"must be a StatusCode name or 0..2, got {value!r}")


def _attributes(value: Any, field: str = "attributes") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i, kv in enumerate(_list(value, field)):
        at = f"{field}[{i}]"
        if not isinstance(kv, dict) or not isinstance(kv.get("key"), str):
            raise _Bad(at, "must be an object with a string key")
        out[kv["key"]] = _any_value(kv.get("value"), f"{at}.value")
    return out


def _any_value(value: Any, field: str) -> Any:
    if value is None:
        return None
    if not isinstance(value, dict) or len(value) > 1:
        raise _Bad(field, "must be an AnyValue object with at most one member")
    if not value:
        return None
    ((name, inner),) = value.items()
    convert = _ANY_VALUE.get(name)
    if convert is None:
        raise _Bad(field, f"unknown AnyValue member {name!r}")
    return convert(inner, f"{field}.{name}")


def _string_value(inner: Any, field: str) -> str:
    if not isinstance(inner, str):
        raise _Bad(field, f"must be a string, got {type(inner).__name__}")
    return inner


def _double_value(inner: Any, field: str) -> float:
    if isinstance(inner, int | float) and not isinstance(inner, bool):
        return float(inner)
    if isinstance(inner, str):
        try:
            return float(inner)
        except ValueError:
            pass
    raise _Bad(field, f"must be a number, got {inner!r}")


def _bool_value(inner: Any, field: str) -> bool:
    if not isinstance(inner, bool):
        raise _Bad(field, f"must be true or false, got {inner!r}")
    return inner


def _array_value(inner: Any, field: str) -> list[Any]:
    values = _list(_get(_object(inner, field), "values"), f"{field}.values")
    return [_any_value(v, f"{field}.values[{i}]") for i, v in enumerate(values)]


def _kvlist_value(inner: Any, field: str) -> dict[str, Any]:
    return _attributes(_get(_object(inner, field), "values"), f"{field}.values")


def _bytes_value(inner: Any, field: str) -> str:
    if isinstance(inner, str):
        try:
            url_safe = "-" in inner or "_" in inner
            raw = base64.b64decode(inner, altchars=b"-_" if url_safe else None, validate=True)
            return base64.b64encode(raw).decode("ascii")
        except (binascii.Error, ValueError):
            pass
    raise _Bad(field, f"must be a base64 string, got {inner!r}")


_ANY_VALUE: dict[str, Callable[[Any, str], Any]] = {}
for _camel, _snake, _fn in (
    ("stringValue", "string_value", _string_value),
    ("intValue", "int_value", _int64),
    ("doubleValue", "double_value", _double_value),
    ("boolValue", "bool_value", _bool_value),
    ("arrayValue", "array_value", _array_value),
    ("kvlistValue", "kvlist_value", _kvlist_value),
    ("bytesValue", "bytes_value", _bytes_value),
):
    _ANY_VALUE[_camel] = _ANY_VALUE[_snake] = _fn
