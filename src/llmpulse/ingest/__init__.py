"""Ingest: stage ① of the flow — wire bytes to normalized spans to durable batches.

May import `llmpulse.domain`, `llmpulse.clock`, `llmpulse.store` (protocols) and
`opentelemetry.proto` (this is the only package that may). Must not import `query`, `server`
or anything above it.

Entry points: `otlp.decode_request_rows` (an OTLP/HTTP or OTLP/gRPC protobuf body, or an
OTLP/JSON body → `types.RowBatch`, the ingest path) and `openinference.request_rows` (a
upb-decoded ``ExportTraceServiceRequest``); each span becomes a row of the event store's
columns (`store.events.codec.SpanRow`).
`otlp.decode_request`, `openinference.normalize_request` and `openinference.to_span` are the
same mapping returning domain `Span` values. `service.IngestService` prices the rows, builds
Arrow tables and hands them to `writer.SpanWriter`.

Decode and normalize modules: `otlp` (transport: content type, gzip, size limits, protobuf),
`wire` (the native protobuf decoder, ``_wire.c``, with upb as its fallback), `native` (the
C extension or None), `otlp_json` (OTLP/JSON walker), `openinference` (validation, row
assembly, project),
`semconv` (typed columns and span kind), `indexed` (flattened messages and documents),
`genai` (structured ``gen_ai.*messages``), `attributes` (AnyValue → Python).
"""
