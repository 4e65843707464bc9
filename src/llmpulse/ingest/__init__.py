"""Ingest: stage ① of the flow — wire bytes to normalized spans to durable batches.

May import `llmpulse.domain`, `llmpulse.clock`, `llmpulse.store` (protocols) and
`opentelemetry.proto` (this is the only package that may). Must not import `query`, `server`
or anything above it.

Entry points: `otlp.decode_request` (OTLP/HTTP body → `types.Normalized`),
`openinference.normalize_request` (a decoded ``ExportTraceServiceRequest``, shared with the
gRPC listener, → `types.Normalized`) and `openinference.to_span`, the per-span pure function;
`service.IngestService` hands normalized spans to `writer.SpanWriter`.

Decode and normalize modules: `otlp` (transport: content type, gzip, size limits, protobuf),
`otlp_json` (OTLP/JSON walker), `openinference` (validation, Span assembly, project),
`semconv` (typed columns and span kind), `indexed` (flattened messages and documents),
`genai` (structured ``gen_ai.*messages``), `attributes` (AnyValue → Python).
"""
