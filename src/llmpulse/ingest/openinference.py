"""OTLP span → a row of the event store's columns, or a `Rejection` naming the bad field.

`rows_from_raw` validates raw spans (`invalid`) and maps them to `SpanRow` values
(`build_row`). The raw spans come from the native wire decoder (`wire.decode_raw`, the
ingest path for protobuf bodies) or from upb through `raw_resources` / `raw_span`
(`request_rows`); both give equal values, which tests check. The JSON decoder builds `RawSpan`
values itself and calls the same `invalid` and `build_row`, so every encoding shares every rule
below. `to_span`,
`build_span` and `normalize_request` return the same mapping as domain `Span` values.

Validation (OTLP trace spec): ``trace_id`` is 16 bytes and not all zero, ``span_id`` 8 bytes and
not all zero, ``parent_span_id`` empty or 8 bytes; start and end are set, between 1970-01-02
and 2200-01-01, and the end is not before the start. A failing span becomes a `Rejection`
whose path points at the field; its neighbours are unaffected.

Project: resource ``openinference.project.name``, else the ``x-project-name`` header, else
resource ``service.name`` (the SDK's ``unknown_service…`` placeholder does not count), else
``default``.

Attributes: every span attribute is kept in ``Span.attributes`` except what a typed column
holds in full (``input.value``, ``output.value``, ``metadata``, ``tag.tags``, the
role/content/tool-call fields of flattened messages, the id/content/score/metadata of
retrieved documents, and ``gen_ai.*messages``/``gen_ai.system_instructions`` when every part
was captured). The instrumentation scope is recorded as ``otel.scope.name`` /
``otel.scope.version``. Links and the OTel span kind (client/server) are not kept. An event
whose time is unset or absurd takes the span's start time. The ``resource_attributes`` dict is
shared by all spans of one resource: treat it as read-only (use `dataclasses.replace`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope
from opentelemetry.proto.trace.v1.trace_pb2 import Span as OtlpSpan

from llmpulse.clock import from_unix_ns
from llmpulse.domain.ids import ProjectName, project_name_problem
from llmpulse.domain.spans import (
    Message,
    Rejection,
    RetrievedDocument,
    Span,
    SpanEvent,
    StatusCode,
    latency_ms,
)
from llmpulse.ingest import genai, native, semconv
from llmpulse.ingest.attributes import (
    SCALAR_FIELDS,
    any_value_to_py,
    as_float,
    as_int,
    key_values_to_dict,
)
from llmpulse.ingest.indexed import INDEXED_PREFIXES, parse_indexed, parse_json_object
from llmpulse.ingest.semconv import span_kind, typed_values
from llmpulse.ingest.types import Normalized, RowBatch
from llmpulse.store.events.codec import SpanRow, span_from_row

PROJECT_ATTRIBUTE = "openinference.project.name"
DEFAULT_PROJECT = ProjectName("default")
MIN_TIME_NS = 86_400 * 1_000_000_000  # 1970-01-02T00:00:00Z
MAX_TIME_NS = 7_258_118_400 * 1_000_000_000  # 2200-01-01T00:00:00Z
_STATUS = {0: StatusCode.UNSET, 1: StatusCode.OK, 2: StatusCode.ERROR}
_ZERO_TRACE = bytes(16)
_ZERO_SPAN = bytes(8)
_GENAI_INPUT_KEYS = frozenset((genai.INPUT_MESSAGES, genai.SYSTEM_INSTRUCTIONS))
TOO_DEEP = "values are nested too deeply to store"
_MAPPING_ERRORS = (ValueError, TypeError, OverflowError, RecursionError)


@dataclass(slots=True)
class RawSpan:
    """The fields of one OTLP span after wire decoding, before any semantic mapping."""

    trace_id: bytes
    span_id: bytes
    parent_span_id: bytes
    name: str
    start_ns: int
    end_ns: int
    attributes: dict[str, Any]
    indexed: dict[str, Any] = field(default_factory=dict)
    events: list[tuple[str, int, dict[str, Any]]] = field(default_factory=list)
    status_code: int = 0
    status_message: str = ""


RawScope = tuple[str, str, list[RawSpan]]
"""One ``ScopeSpans``: the scope's name and version, and its spans."""
RawResource = tuple[dict[str, Any], list[RawScope]]
"""One ``ResourceSpans``: the resource attributes and its scopes."""


def resolve_project(resource_attrs: dict[str, Any], header_project: str | None) -> ProjectName:
    """Pick the project of a resource's spans (order in the module docstring)."""
    named = resource_attrs.get(PROJECT_ATTRIBUTE)
    if isinstance(named, str) and named:
        return ProjectName(named)
    if header_project:
        return ProjectName(header_project)
    service = resource_attrs.get("service.name")
    if isinstance(service, str) and service and not service.startswith("unknown_service"):
        return ProjectName(service)
    return DEFAULT_PROJECT


def project_rejection(
    project: str, resource_attrs: dict[str, Any], resource_path: str
) -> Rejection | None:
    """The rejection of every span of a resource whose project name cannot be used."""
    problem = project_name_problem(project)
    if problem is None:
        return None
    if resource_attrs.get(PROJECT_ATTRIBUTE) == project:
        where = f"{resource_path}.resource.attributes[{PROJECT_ATTRIBUTE}]"
    elif resource_attrs.get("service.name") == project:
        where = f"{resource_path}.resource.attributes[service.name]"
    else:
        where = "x-project-name"
    return Rejection(where, f"project name {problem}")


def normalize_request(req: ExportTraceServiceRequest, header_project: str | None) -> Normalized:
    """Normalize every span of a decoded export request into domain `Span` values.

    The ingest path uses `request_rows`; this is the same mapping, as `Span` objects.
    """
    batch = request_rows(req, header_project)
    return Normalized([span_from_row(r) for r in batch.rows], batch.rejections)


def request_rows(req: ExportTraceServiceRequest, header_project: str | None) -> RowBatch:
    """Normalize every span of a decoded export request into store rows.

    Args:
        req: the decoded request (OTLP/HTTP protobuf or gRPC).
        header_project: the ``x-project-name`` header (or gRPC metadata), if any.

    Returns:
        The spans kept, as rows in the event store's columns, and the ones rejected by path.
    """
    return rows_from_raw(raw_resources(req), header_project)


def raw_resources(req: ExportTraceServiceRequest) -> list[RawResource]:
    """The raw spans of a upb-decoded request, grouped as the wire groups them."""
    return [
        (
            key_values_to_dict(resource_spans.resource.attributes),
            [
                (ss.scope.name, ss.scope.version, [raw_span(s) for s in ss.spans])
                for ss in resource_spans.scope_spans
            ],
        )
        for resource_spans in req.resource_spans
    ]


def rows_from_raw(resources: list[RawResource], header_project: str | None) -> RowBatch:
    """Validate and map raw spans (from upb or from the native wire decoder) to store rows.

    Where the extension is built, its ``rows_fast`` maps the common case (ADR 0008) and
    leaves the rest (rejections, events, GenAI messages, unusual indexed keys) to `build_row`.
    """
    out = RowBatch([], [])
    ext = native.module
    for ri, (resource_attrs, scopes) in enumerate(resources):
        project = resolve_project(resource_attrs, header_project)
        refused = project_rejection(project, resource_attrs, f"resource_spans[{ri}]")
        if refused is not None:
            out.rejections.extend(refused for _, _, spans in scopes for _ in spans)
            continue
        for si, (scope_name, scope_version, spans) in enumerate(scopes):
            scope_path = f"resource_spans[{ri}].scope_spans[{si}]"
            built: list[SpanRow | None] | None = None
            if ext is not None:
                try:
                    built, deferred = _rows_fast(
                        ext, spans, resource_attrs, scope_name, scope_version, project
                    )
                except _MAPPING_ERRORS:  # one odd span: map them one by one, reject that one
                    built, deferred = None, len(spans)
                if not deferred:
                    out.add_origin(scope_path, None)
                    out.rows.extend(built)  # type: ignore[arg-type]  # no None when none deferred
                    continue
            kept: list[int] = []
            out.add_origin(scope_path, kept)
            for pi, raw in enumerate(spans):
                fast = built[pi] if built is not None else None
                row = (
                    fast
                    if fast is not None
                    else checked_row(raw, resource_attrs, scope_name, scope_version, project)
                )
                if isinstance(row, list):
                    kept.append(pi)
                    out.rows.append(row)
                else:
                    out.rejections.append(Rejection(f"{scope_path}.spans[{pi}].{row[0]}", row[1]))
    return out


def checked_row(
    raw: RawSpan,
    resource_attrs: dict[str, Any],
    scope_name: str,
    scope_version: str,
    project: ProjectName,
) -> SpanRow | tuple[str, str]:
    """`build_row` of a valid span, else (field, reason) naming why it cannot be stored."""
    problem = invalid(raw)
    if problem is not None:
        return problem
    try:
        return build_row(raw, resource_attrs, scope_name, scope_version, project)
    except RecursionError:
        return "attributes", TOO_DEEP
    except _MAPPING_ERRORS as exc:
        return "attributes", f"cannot map the span's attributes: {exc}"


_GENAI_MESSAGE_KEYS = (genai.INPUT_MESSAGES, genai.OUTPUT_MESSAGES, genai.SYSTEM_INSTRUCTIONS)


def _rows_fast(
    ext: Any,
    spans: list[RawSpan],
    resource_attrs: dict[str, Any],
    scope_name: str,
    scope_version: str,
    project: ProjectName,
) -> tuple[list[SpanRow | None], int]:
    """The native common case of `build_row` over one scope's spans (None: not handled)."""
    result: tuple[list[SpanRow | None], int] = ext.rows_fast(
        spans, resource_attrs, scope_name, scope_version, project
    )
    return result


if native.module is not None:  # the constants `rows_fast` reads, handed over once
    native.module.row_setup(
        (
            *semconv.native_constants(), _GENAI_MESSAGE_KEYS, _STATUS, StatusCode.UNSET,
            as_int, as_float, parse_json_object, Message, RetrievedDocument,
        )
    )  # fmt: skip


def to_span(
    resource_attrs: dict[str, Any],
    scope: InstrumentationScope,
    otlp_span: OtlpSpan,
    path: str,
    project: str,
) -> Span | Rejection:
    """Turn one protobuf OTLP span into a `Span`, or a `Rejection` with the offending path."""
    raw = raw_span(otlp_span)
    return build_span(raw, resource_attrs, scope.name, scope.version, path, ProjectName(project))


def raw_span(otlp_span: OtlpSpan) -> RawSpan:
    """The wire fields of one protobuf span, attributes as Python values."""
    attrs: dict[str, Any] = {}
    indexed: dict[str, Any] = {}
    # The hot loop: one pass, scalars inline, indexed keys routed aside by one startswith.
    for kv in otlp_span.attributes:
        key = kv.key
        value = kv.value
        # Most values are non-empty strings: one attribute read settles them.
        py = value.string_value
        if not py:
            which = value.WhichOneof("value")
            py = getattr(value, which) if which in SCALAR_FIELDS else any_value_to_py(value)
        if key.startswith(INDEXED_PREFIXES):
            indexed[key] = py
        else:
            attrs[key] = py
    status = otlp_span.status
    events = otlp_span.events
    return RawSpan(
        trace_id=otlp_span.trace_id,
        span_id=otlp_span.span_id,
        parent_span_id=otlp_span.parent_span_id,
        name=otlp_span.name,
        start_ns=otlp_span.start_time_unix_nano,
        end_ns=otlp_span.end_time_unix_nano,
        attributes=attrs,
        indexed=indexed,
        events=[(ev.name, ev.time_unix_nano, key_values_to_dict(ev.attributes)) for ev in events]
        if events
        else [],
        status_code=status.code,
        status_message=status.message,
    )


def invalid(raw: RawSpan) -> tuple[str, str] | None:
    """Return (field, reason) when ``raw`` cannot be stored, or None when it can."""
    trace_id, span_id = raw.trace_id, raw.span_id
    if len(trace_id) != 16:
        return "trace_id", f"must be 16 bytes, got {len(trace_id)}"
    if trace_id == _ZERO_TRACE:
        return "trace_id", "must not be all zeros"
    if len(span_id) != 8:
        return "span_id", f"must be 8 bytes, got {len(span_id)}"
    if span_id == _ZERO_SPAN:
        return "span_id", "must not be all zeros"
    if len(raw.parent_span_id) not in (0, 8):
        return "parent_span_id", f"must be empty or 8 bytes, got {len(raw.parent_span_id)}"
    start, end = raw.start_ns, raw.end_ns
    if MIN_TIME_NS <= start < MAX_TIME_NS and MIN_TIME_NS <= end < MAX_TIME_NS:
        return ("end_time_unix_nano", "ends before it starts") if end < start else None
    for name, ns in (("start_time_unix_nano", start), ("end_time_unix_nano", end)):
        if not MIN_TIME_NS <= ns < MAX_TIME_NS:
            reason = "is missing" if ns == 0 else f"{ns} is not between 1970-01-02 and 2200-01-01"
            return name, reason
    return None


def validate(raw: RawSpan, path: str) -> Rejection | None:
    """Return why ``raw`` cannot be stored, or None when it can."""
    problem = invalid(raw)
    return None if problem is None else Rejection(f"{path}.{problem[0]}", problem[1])


def build_span(
    raw: RawSpan,
    resource_attrs: dict[str, Any],
    scope_name: str,
    scope_version: str,
    path: str,
    project: ProjectName,
) -> Span | Rejection:
    """Validate ``raw`` and map its attributes to a `Span` (shared by protobuf and JSON)."""
    rejection = validate(raw, path)
    if rejection is not None:
        return rejection
    return span_from_row(build_row(raw, resource_attrs, scope_name, scope_version, project))


def build_row(
    raw: RawSpan,
    resource_attrs: dict[str, Any],
    scope_name: str,
    scope_version: str,
    project: ProjectName,
) -> SpanRow:
    """Map a valid ``raw`` span (see `invalid`) to its row in the event store's columns."""
    attrs = raw.attributes
    found = parse_indexed(raw.indexed) if raw.indexed else None
    if found is not None:
        attrs.update(found.leftovers)
        input_messages = found.input_messages or _genai_input(attrs)
        output_messages = found.output_messages or _genai_messages(attrs, genai.OUTPUT_MESSAGES)
        documents = found.documents
    else:
        input_messages = _genai_input(attrs)
        output_messages = _genai_messages(attrs, genai.OUTPUT_MESSAGES)
        documents = ()
    kind = span_kind(attrs, bool(input_messages or output_messages))
    (
        model, provider, prompt_tokens, completion_tokens, total_tokens, cost_usd, session_id,
        user_id, environment, version, http_status, input_value, output_value, metadata, tags,
    ) = typed_values(attrs, resource_attrs)  # fmt: skip
    if scope_name:
        attrs["otel.scope.name"] = scope_name
        if scope_version:
            attrs["otel.scope.version"] = scope_version
    if raw.events:
        events, exc_type, exc_message = _events(raw.events, raw.start_ns)
    else:
        events, exc_type, exc_message = (), None, None
    status_code = _STATUS.get(raw.status_code, StatusCode.UNSET)
    status_message = raw.status_message
    if status_code is StatusCode.ERROR and not status_message:
        status_message = exc_message or exc_type or ""
    start_us = raw.start_ns // 1000
    end_us = raw.end_ns // 1000
    parent = raw.parent_span_id
    return [
        project, raw.trace_id.hex(), raw.span_id.hex(), parent.hex() if parent else None,
        raw.name, kind, start_us, end_us, latency_ms(start_us, end_us), status_code,
        status_message, model, provider, prompt_tokens, completion_tokens, total_tokens,
        cost_usd, session_id, user_id, environment, version, None, http_status, input_value,
        output_value, exc_type, exc_message, input_messages, output_messages, documents,
        events, metadata, attrs, resource_attrs, tags,
    ]  # fmt: skip


def _genai_messages(attrs: dict[str, Any], key: str) -> tuple[Message, ...]:
    raw = attrs.get(key)
    if raw is None:
        return ()
    parsed = genai.parse_messages(raw)
    if parsed is None:
        return ()
    messages, lossless = parsed
    if lossless:
        del attrs[key]
    return messages


def _genai_input(attrs: dict[str, Any]) -> tuple[Message, ...]:
    if _GENAI_INPUT_KEYS.isdisjoint(attrs):
        return ()
    messages = _genai_messages(attrs, genai.INPUT_MESSAGES)
    raw = attrs.get(genai.SYSTEM_INSTRUCTIONS)
    parsed = genai.parse_system_instructions(raw) if raw is not None else None
    if parsed is None:
        return messages
    system, lossless = parsed
    if lossless:
        del attrs[genai.SYSTEM_INSTRUCTIONS]
    return (system, *messages)


def _events(
    raw_events: list[tuple[str, int, dict[str, Any]]], start_ns: int
) -> tuple[tuple[SpanEvent, ...], str | None, str | None]:
    """Convert events; the first ``exception`` event gives the exception type and message."""
    if not raw_events:
        return (), None, None
    exc_type: str | None = None
    exc_message: str | None = None
    events = []
    seen_exception = False
    for name, ns, attributes in raw_events:
        when = ns if MIN_TIME_NS <= ns < MAX_TIME_NS else start_ns
        events.append(SpanEvent(name=name, time=from_unix_ns(when), attributes=attributes))
        if name == "exception" and not seen_exception:
            seen_exception = True
            exc_type = _str_or_none(attributes.get("exception.type"))
            exc_message = _str_or_none(attributes.get("exception.message"))
    return tuple(events), exc_type, exc_message


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None
