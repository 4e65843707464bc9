"""`register`: point the OpenTelemetry SDK at an llmpulse server in one call.

Phoenix's ``phoenix.otel.register`` equivalent: builds a `TracerProvider` whose resource
names the project (``openinference.project.name``) and exports over OTLP/HTTP protobuf to
``<endpoint>/v1/traces``. OpenTelemetry is imported inside the function so that
``import llmpulse`` stays light.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

DEFAULT_ENDPOINT = "http://127.0.0.1:7600"


def traces_url(endpoint: str) -> str:
    """The OTLP/HTTP traces URL for a server base URL (kept as is if it already is one)."""
    base = endpoint.rstrip("/")
    return base if base.endswith("/v1/traces") else f"{base}/v1/traces"


def register(
    endpoint: str = DEFAULT_ENDPOINT,
    project: str = "default",
    *,
    batch: bool = True,
    headers: Mapping[str, str] | None = None,
    set_global: bool = True,
) -> TracerProvider:
    """Build a tracer provider that sends spans of ``project`` to an llmpulse server.

    Args:
        endpoint: server base URL (or the full ``.../v1/traces`` URL).
        project: the llmpulse project the spans belong to.
        batch: export in the background in batches (``BatchSpanProcessor``); ``False``
            exports each span as it ends (``SimpleSpanProcessor``), handy in scripts and tests.
        headers: extra HTTP headers, for example ``{"authorization": "Bearer <key>"}``.
        set_global: also install it as OpenTelemetry's global tracer provider.

    Returns:
        The provider; call ``force_flush()``/``shutdown()`` on it before the process ends.
    """
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    resource = Resource.create({"openinference.project.name": project, "service.name": project})
    provider = TracerProvider(resource=resource)
    exporter = OTLPSpanExporter(endpoint=traces_url(endpoint), headers=dict(headers or {}))
    processor = BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter)
    provider.add_span_processor(processor)
    if set_global:
        trace.set_tracer_provider(provider)
    return provider
