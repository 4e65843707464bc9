"""The native OTLP protobuf decoder (``_wire.c``) and its upb fallback.

`decode_raw` turns an ``ExportTraceServiceRequest`` body into the raw spans of
`openinference.raw_resources` without building a protobuf object per field (ADR 0007). The
C decoder reads what it is sure to read exactly as upb does and refuses the rest with
``Unsupported`` (malformed or unusual bodies); then, and when the extension is not built,
upb parses the body, so the result — spans, rejections or the 400 — never depends on which
decoder ran (`native.module` says whether the extension is loaded).
"""

from __future__ import annotations

from llmpulse.ingest import native
from llmpulse.ingest.indexed import INDEXED_PREFIXES
from llmpulse.ingest.openinference import RawResource, RawSpan


def decode_raw(data: bytes) -> list[RawResource] | None:
    """The raw spans of a protobuf body, or None when upb must decode it."""
    ext = native.module
    if ext is None:
        return None
    try:
        resources: list[RawResource] = ext.decode(data, INDEXED_PREFIXES, RawSpan)
    except ext.Unsupported:
        return None
    return resources
