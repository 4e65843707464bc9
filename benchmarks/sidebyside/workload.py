"""A deterministic RAG workload as OTLP ``ExportTraceServiceRequest`` messages.

Every trace has three spans: a CHAIN root, a RETRIEVER and an LLM child, each carrying about
3 kB of text (question, retrieved documents, prompt and answer), the segment metadata (tier,
region, product_line) as the OpenInference ``metadata`` JSON attribute, and ``session.id``.

Trace ``t`` is a pure function of ``t``: its text, latencies and segments come from
``t % pool_traces`` (so a request can be cloned by patching, see ``requests.py``), while its
ids, timestamps, session id and the ``[ref xxxxxxxx]`` markers in its texts come from ``t``
itself (so no two spans carry identical text and columnar stores cannot dedupe copies).
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, replace
from functools import lru_cache

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

SPANS_PER_TRACE = 3
TRACES_PER_SESSION = 4
TIERS = ("free", "pro", "enterprise")
REGIONS = ("us-east", "us-west", "eu-west", "ap-south")
PRODUCT_LINES = ("search", "support", "sales", "docs", "billing")
MODELS = ("gpt-4o-mini", "gpt-4o", "claude-3-5-sonnet")
MS = 1_000_000


@dataclass(frozen=True, slots=True)
class WorkloadSpec:
    """What to generate: size, request shape, time span and project."""

    num_traces: int
    traces_per_request: int = 100
    pool_traces: int = 10_000
    base_ns: int = 1_735_689_600 * 1_000_000_000  # 2025-01-01T00:00:00Z
    duration_ns: int = 24 * 3600 * 1_000_000_000
    project: str = "rag-bench"
    seed: int = 7

    @property
    def num_spans(self) -> int:
        """Spans in the whole workload."""
        return self.num_traces * SPANS_PER_TRACE

    @property
    def num_requests(self) -> int:
        """Requests in the whole workload (the last one may be short)."""
        return -(-self.num_traces // self.traces_per_request)

    @property
    def interval_ns(self) -> int:
        """Start-time step between consecutive traces."""
        return max(1, self.duration_ns // max(1, self.num_traces))

    @classmethod
    def for_spans(
        cls,
        num_spans: int,
        traces_per_request: int = 100,
        pool_traces: int = 10_000,
        base_ns: int | None = None,
    ) -> WorkloadSpec:
        """A spec with at least ``num_spans`` spans (rounded up to whole traces).

        The template pool is shrunk to the workload and rounded to whole requests and whole
        sessions.
        """
        traces = -(-num_spans // SPANS_PER_TRACE)
        step = math.lcm(traces_per_request, TRACES_PER_SESSION)
        pool = min(pool_traces, traces)
        pool = max(step, pool - pool % step)
        spec = cls(traces, traces_per_request, pool)
        return spec if base_ns is None else replace(spec, base_ns=base_ns)


@lru_cache(maxsize=4)
def _sentences(seed: int) -> tuple[str, ...]:
    rng = random.Random(seed)
    letters = "etaoinshrdlucmfwypvbgkqjxz"
    weights = [26 - i for i in range(26)]
    words = ["".join(rng.choices(letters, weights, k=rng.randint(2, 10))) for _ in range(3000)]
    out = []
    for _ in range(4096):
        n = rng.randint(8, 22)
        out.append(" ".join(rng.choices(words, k=n)).capitalize() + ".")
    return tuple(out)


def _text(rng: random.Random, sentences: tuple[str, ...], num_chars: int) -> str:
    parts: list[str] = []
    size = 0
    while size < num_chars:
        s = sentences[rng.randrange(len(sentences))]
        parts.append(s)
        size += len(s) + 1
    return " ".join(parts)


def _kv(key: str, value: str | int | float | bool) -> KeyValue:
    if isinstance(value, bool):
        return KeyValue(key=key, value=AnyValue(bool_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    if isinstance(value, float):
        return KeyValue(key=key, value=AnyValue(double_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=value))


def trace_id_bytes(t: int) -> bytes:
    """Trace id of trace ``t``: a fixed 8-byte prefix then ``t`` big-endian."""
    return b"LPBENCH\x01" + t.to_bytes(8, "big")


def span_id_bytes(span_index: int) -> bytes:
    """Span id of the workload's ``span_index``-th span (never all zeros)."""
    return (span_index + 1).to_bytes(8, "big")


def ref_marker(span_index: int) -> str:
    """The unique marker embedded in a span's largest text."""
    return f"[ref {span_index:08x}]"


def session_id(t: int) -> str:
    """Session of trace ``t``: four consecutive traces share one session."""
    return f"sess-{t // TRACES_PER_SESSION:08x}"


@dataclass(frozen=True, slots=True)
class _Shape:
    """The parts of a trace that depend only on ``t % pool_traces``."""

    tier: str
    region: str
    product_line: str
    user: str
    model: str
    question: str
    answer: str
    system_prompt: str
    docs: tuple[tuple[str, str, float], ...]
    retrieval_ms: int
    llm_ms: int
    overhead_ms: int
    is_error: bool
    prompt_tokens: int
    completion_tokens: int


def _shape(seed: int, k: int) -> _Shape:
    rng = random.Random(seed * 1_000_003 + k)
    sents = _sentences(seed)
    docs = tuple(
        (f"kb-{rng.randrange(50_000):05d}", _text(rng, sents, 560), round(rng.random(), 4))
        for _ in range(4)
    )
    return _Shape(
        tier=rng.choices(TIERS, (6, 3, 1))[0],
        region=rng.choices(REGIONS, (4, 2, 3, 1))[0],
        product_line=rng.choice(PRODUCT_LINES),
        user=f"user-{rng.randrange(2_000):05d}",
        model=rng.choices(MODELS, (6, 3, 1))[0],
        question=_text(rng, sents, 300),
        answer=_text(rng, sents, 2000),
        system_prompt=_text(rng, sents, 500),
        docs=docs,
        retrieval_ms=int(rng.lognormvariate(4.0, 0.6)) + 5,
        llm_ms=int(rng.lognormvariate(7.0, 0.5)) + 50,
        overhead_ms=rng.randint(2, 40),
        is_error=rng.random() < 0.02,
        prompt_tokens=rng.randint(400, 1800),
        completion_tokens=rng.randint(80, 600),
    )


def _common(t: int, sh: _Shape, kind: str) -> list[KeyValue]:
    meta = {"tier": sh.tier, "region": sh.region, "product_line": sh.product_line}
    return [
        _kv("openinference.span.kind", kind),
        _kv("session.id", session_id(t)),
        _kv("user.id", sh.user),
        _kv("metadata", json.dumps(meta, separators=(",", ":"))),
    ]


def _chain(t: int, sh: _Shape, start: int, end: int) -> Span:
    s0 = t * SPANS_PER_TRACE
    attrs = _common(t, sh, "CHAIN")
    attrs += [
        _kv("input.value", sh.question),
        _kv("input.mime_type", "text/plain"),
        _kv("output.value", f"{sh.answer} {ref_marker(s0)}"),
        _kv("output.mime_type", "text/plain"),
    ]
    attrs.append(KeyValue(key="tag.tags", value=_array([sh.product_line, sh.tier])))
    return Span(
        trace_id=trace_id_bytes(t),
        span_id=span_id_bytes(s0),
        name="rag_pipeline",
        kind=Span.SPAN_KIND_INTERNAL,
        start_time_unix_nano=start,
        end_time_unix_nano=end,
        attributes=attrs,
        status=_status(sh.is_error),
    )


def _array(values: list[str]) -> AnyValue:
    v = AnyValue()
    v.array_value.values.extend(AnyValue(string_value=x) for x in values)
    return v


def _status(is_error: bool) -> Status:
    if is_error:
        return Status(code=Status.STATUS_CODE_ERROR, message="upstream model timed out")
    return Status(code=Status.STATUS_CODE_OK)


def _retriever(t: int, sh: _Shape, start: int) -> Span:
    s0 = t * SPANS_PER_TRACE
    attrs = _common(t, sh, "RETRIEVER")
    attrs.append(_kv("input.value", sh.question))
    for i, (doc_id, content, score) in enumerate(sh.docs):
        body = f"{content} {ref_marker(s0 + 1)}" if i == 0 else content
        attrs += [
            _kv(f"retrieval.documents.{i}.document.id", doc_id),
            _kv(f"retrieval.documents.{i}.document.content", body),
            _kv(f"retrieval.documents.{i}.document.score", score),
        ]
    return Span(
        trace_id=trace_id_bytes(t),
        span_id=span_id_bytes(s0 + 1),
        parent_span_id=span_id_bytes(s0),
        name="vector_search",
        kind=Span.SPAN_KIND_INTERNAL,
        start_time_unix_nano=start,
        end_time_unix_nano=start + sh.retrieval_ms * MS,
        attributes=attrs,
        status=_status(False),
    )


def _llm(t: int, sh: _Shape, start: int) -> Span:
    s0 = t * SPANS_PER_TRACE
    attrs = _common(t, sh, "LLM")
    context = sh.docs[0][1][:400]
    attrs += [
        _kv("llm.model_name", sh.model),
        _kv("llm.provider", "openai" if sh.model.startswith("gpt") else "anthropic"),
        _kv("llm.invocation_parameters", '{"temperature":0.2,"max_tokens":800}'),
        _kv("llm.input_messages.0.message.role", "system"),
        _kv("llm.input_messages.0.message.content", sh.system_prompt),
        _kv("llm.input_messages.1.message.role", "user"),
        _kv("llm.input_messages.1.message.content", f"{sh.question}\n\nContext: {context}"),
        _kv("llm.output_messages.0.message.role", "assistant"),
        _kv("llm.output_messages.0.message.content", f"{sh.answer[:1100]} {ref_marker(s0 + 2)}"),
        _kv("llm.token_count.prompt", sh.prompt_tokens),
        _kv("llm.token_count.completion", sh.completion_tokens),
        _kv("llm.token_count.total", sh.prompt_tokens + sh.completion_tokens),
    ]
    return Span(
        trace_id=trace_id_bytes(t),
        span_id=span_id_bytes(s0 + 2),
        parent_span_id=span_id_bytes(s0),
        name="ChatCompletion",
        kind=Span.SPAN_KIND_CLIENT,
        start_time_unix_nano=start,
        end_time_unix_nano=start + sh.llm_ms * MS,
        attributes=attrs,
        status=_status(sh.is_error),
    )


def build_trace(spec: WorkloadSpec, t: int) -> list[Span]:
    """The three spans of trace ``t`` (root first)."""
    sh = _shape(spec.seed, t % spec.pool_traces)
    start = spec.base_ns + t * spec.interval_ns
    r_start = start + sh.overhead_ms * MS // 2
    l_start = r_start + (sh.retrieval_ms + 1) * MS
    end = l_start + (sh.llm_ms + sh.overhead_ms // 2) * MS
    return [
        _chain(t, sh, start, end),
        _retriever(t, sh, r_start),
        _llm(t, sh, l_start),
    ]


def build_request(spec: WorkloadSpec, r: int) -> ExportTraceServiceRequest:
    """Request ``r`` of the workload: traces ``r*tpr`` up to the end of the workload."""
    first = r * spec.traces_per_request
    last = min(spec.num_traces, first + spec.traces_per_request)
    spans = [s for t in range(first, last) for s in build_trace(spec, t)]
    resource = Resource(
        attributes=[
            _kv("service.name", "rag-app"),
            _kv("openinference.project.name", spec.project),
            _kv("telemetry.sdk.language", "python"),
        ]
    )
    scope = InstrumentationScope(name="openinference.instrumentation.langchain", version="0.1.0")
    return ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(resource=resource, scope_spans=[ScopeSpans(scope=scope, spans=spans)])
        ]
    )
