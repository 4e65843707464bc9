"""The decode ceiling: spans/s one core reaches turning the workload's requests into rows.

This is the floor of per-span work any Python server must do (parse the protobuf with upb,
then turn each span's attributes into a dict), so ingest-to-queryable throughput is judged
against it. It runs in this process, with no server and no I/O.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue


@dataclass(frozen=True, slots=True)
class Ceiling:
    """Decode rates in spans per second (one core)."""

    num_spans: int
    parse_spans_per_s: float
    rows_spans_per_s: float
    rows_json_spans_per_s: float
    protobuf_backend: str


def to_python(v: AnyValue) -> Any:
    """One OTLP ``AnyValue`` as a plain Python value."""
    which = v.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return [to_python(x) for x in v.array_value.values]
    if which == "kvlist_value":
        return {kv.key: to_python(kv.value) for kv in v.kvlist_value.values}
    return getattr(v, which)


def to_rows(data: bytes) -> list[dict[str, Any]]:
    """Decode one request into one dict per span, attributes included."""
    req = ExportTraceServiceRequest.FromString(data)
    rows: list[dict[str, Any]] = []
    for rs in req.resource_spans:
        resource = {kv.key: to_python(kv.value) for kv in rs.resource.attributes}
        for ss in rs.scope_spans:
            for s in ss.spans:
                rows.append(
                    {
                        "trace_id": s.trace_id.hex(),
                        "span_id": s.span_id.hex(),
                        "parent_span_id": s.parent_span_id.hex() or None,
                        "name": s.name,
                        "start_ns": s.start_time_unix_nano,
                        "end_ns": s.end_time_unix_nano,
                        "status_code": s.status.code,
                        "attributes": {kv.key: to_python(kv.value) for kv in s.attributes},
                        "resource": resource,
                    }
                )
    return rows


def _backend() -> str:
    from google.protobuf.internal import api_implementation

    return str(api_implementation.Type())


def measure_ceiling(requests: Sequence[bytes], repeat: int = 3) -> Ceiling:
    """Best-of-``repeat`` parse-only and parse-to-rows rates over ``requests``."""
    num_spans = sum(
        len(ss.spans)
        for data in requests
        for rs in ExportTraceServiceRequest.FromString(data).resource_spans
        for ss in rs.scope_spans
    )
    parse_s = rows_s = json_s = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        for data in requests:
            ExportTraceServiceRequest.FromString(data)
        parse_s = min(parse_s, time.process_time() - t0)
        t0 = time.process_time()
        for data in requests:
            to_rows(data)
        rows_s = min(rows_s, time.process_time() - t0)
        t0 = time.process_time()
        for data in requests:
            for row in to_rows(data):
                orjson.dumps(row["attributes"])
        json_s = min(json_s, time.process_time() - t0)
    return Ceiling(
        num_spans, num_spans / parse_s, num_spans / rows_s, num_spans / json_s, _backend()
    )
