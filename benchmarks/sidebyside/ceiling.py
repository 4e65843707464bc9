"""The decode ceiling: spans/s one core reaches turning the workload's requests into rows.

Two rows are measured, in this process, with no server and no I/O:

- **store rows** ("the ceiling", the issue's "plain Python decode of these requests into
  rows", ~29k spans/s on its machine): parse with upb, then llmpulse's own plain-Python
  mapping into the rows the event store takes (`openinference.request_rows` under
  `native.python_only`: typed columns, messages, documents, kind; no pricing, no Arrow). This
  is the decode the server would run without its native code; ingest-to-queryable
  throughput is judged against it.
- **dict rows** (`to_rows`, a stricter floor, also reported): parse the protobuf with upb,
  then turn each span's ids, times, status and attributes into a dict, with no mapping to
  typed columns at all.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from llmpulse.ingest.native import python_only
from llmpulse.ingest.openinference import request_rows


@dataclass(frozen=True, slots=True)
class Ceiling:
    """Decode rates in spans per second (one core)."""

    num_spans: int
    parse_spans_per_s: float
    rows_spans_per_s: float
    rows_json_spans_per_s: float
    protobuf_backend: str
    store_rows_spans_per_s: float


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
    """Best-of-``repeat`` parse-only, parse-to-dict-rows and parse-to-store-rows rates."""
    num_spans = sum(
        len(ss.spans)
        for data in requests
        for rs in ExportTraceServiceRequest.FromString(data).resource_spans
        for ss in rs.scope_spans
    )
    parse_s = rows_s = json_s = store_s = float("inf")
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
        with python_only():
            t0 = time.process_time()
            for data in requests:
                request_rows(ExportTraceServiceRequest.FromString(data), None)
            store_s = min(store_s, time.process_time() - t0)
    return Ceiling(
        num_spans,
        num_spans / parse_s,
        num_spans / rows_s,
        num_spans / json_s,
        _backend(),
        num_spans / store_s,
    )
