"""Typed columns from span attributes: OpenInference first, then OTel GenAI, then plain OTel.

Each column lists the attribute keys it reads, in order of preference (the first present
wins). Sources: OpenInference semantic conventions
(https://github.com/Arize-ai/openinference/blob/main/spec/semantic_conventions.md) and OTel
semantic conventions for generative AI (https://opentelemetry.io/docs/specs/semconv/gen-ai/).

Choices worth knowing:

- **kind**: ``openinference.span.kind`` (case-insensitive; an unknown value is ``UNKNOWN``).
  Without it, a GenAI span (``gen_ai.operation.name``) maps by operation (``embeddings`` →
  EMBEDDING, ``execute_tool`` → TOOL, ``invoke_agent``/``create_agent`` → AGENT, anything else →
  LLM); a span with a model, provider, token count or messages of either convention is LLM;
  everything else is ``UNKNOWN`` (a root span is not assumed to be a CHAIN, as in Phoenix).
- **model**: the response model wins over the requested one (providers may route).
- **total tokens**: when absent, prompt + completion (whichever of them is present).
- **cost**: ``llm.cost.total``, else ``llm.cost.prompt`` + ``llm.cost.completion``.
- **environment**: ``deployment.environment.name`` then ``deployment.environment``, on the span
  first, then on the resource.
- **version**: the span's ``model.version`` / ``llm.model_version`` / ``service.version``, then the
  resource's ``service.version`` (the deployed app version that canary comparisons slice by).
- **metadata**: the ``metadata`` JSON string becomes a dict; invalid JSON is kept as
  ``{"_raw": "<the string>"}``.
"""

from __future__ import annotations

from typing import Any

from llmpulse.domain.spans import SpanKind
from llmpulse.ingest.attributes import as_float, as_int, as_str, first_present
from llmpulse.ingest.indexed import parse_json_object

SPAN_KIND = "openinference.span.kind"
_KINDS = {kind.value: kind for kind in SpanKind}
_GENAI_OPERATION_KINDS = {
    "embeddings": SpanKind.EMBEDDING,
    "execute_tool": SpanKind.TOOL,
    "invoke_agent": SpanKind.AGENT,
    "create_agent": SpanKind.AGENT,
}
# Any of these marks an LLM call when no kind is given.
_LLM_MARKERS = (
    "llm.model_name",
    "llm.provider",
    "llm.system",
    "llm.token_count.prompt",
    "llm.token_count.total",
    "gen_ai.system",
    "gen_ai.provider.name",
    "gen_ai.request.model",
    "gen_ai.usage.input_tokens",
)

MODEL = (
    "llm.response.model_name",
    "llm.model_name",
    "llm.request.model_name",
    "gen_ai.response.model",
    "gen_ai.request.model",
    "embedding.model_name",
    "reranker.model_name",
)
PROVIDER = ("llm.provider", "llm.system", "gen_ai.provider.name", "gen_ai.system")
PROMPT_TOKENS = (
    "llm.token_count.prompt",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.prompt_tokens",
)
COMPLETION_TOKENS = (
    "llm.token_count.completion",
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.completion_tokens",
)
TOTAL_TOKENS = ("llm.token_count.total", "gen_ai.usage.total_tokens")
SESSION = ("session.id", "gen_ai.conversation.id")
USER = ("user.id", "enduser.id")
ENVIRONMENT = ("deployment.environment.name", "deployment.environment")
SPAN_VERSION = ("model.version", "llm.model_version", "service.version")
HTTP_STATUS = ("http.response.status_code", "http.status_code")
_COST = ("llm.cost.total", "llm.cost.prompt", "llm.cost.completion")
# Most spans (chains, retrievers, tools) carry none of these: one C-level set test skips them.
_MODEL_KEYS = frozenset(MODEL + PROVIDER + PROMPT_TOKENS + COMPLETION_TOKENS + TOTAL_TOKENS + _COST)
_NO_MODEL_VALUES = (None, None, None, None, None, None)
_SPAN_ONLY_KEYS = frozenset(SESSION + USER + ENVIRONMENT + SPAN_VERSION + HTTP_STATUS)


def native_constants() -> tuple[Any, ...]:
    """The rules above as the native ``rows_fast`` reads them (the first values of its
    ``row_setup`` context: kinds, the LLM markers, then each column's keys in order)."""
    return (
        _KINDS, SpanKind.UNKNOWN, SpanKind.LLM, _GENAI_OPERATION_KINDS, _LLM_MARKERS, MODEL,
        PROVIDER, PROMPT_TOKENS, COMPLETION_TOKENS, TOTAL_TOKENS, SESSION, USER, ENVIRONMENT,
        SPAN_VERSION, HTTP_STATUS,
    )  # fmt: skip


def span_kind(attrs: dict[str, Any], has_messages: bool) -> SpanKind:
    """Decide the span kind (see the module docstring for the rules)."""
    declared = attrs.get(SPAN_KIND)
    if isinstance(declared, str):
        return _KINDS.get(declared.strip().upper(), SpanKind.UNKNOWN)
    operation = attrs.get("gen_ai.operation.name")
    if isinstance(operation, str):
        return _GENAI_OPERATION_KINDS.get(operation, SpanKind.LLM)
    if has_messages or any(key in attrs for key in _LLM_MARKERS):
        return SpanKind.LLM
    return SpanKind.UNKNOWN


def typed_values(attrs: dict[str, Any], resource_attrs: dict[str, Any]) -> tuple[Any, ...]:
    """Read the typed span columns, in this order: model, provider, prompt_tokens,
    completion_tokens, total_tokens, cost_usd, session_id, user_id, environment, version,
    http_status, input_value, output_value, metadata, tags.

    Pops what they fully capture from ``attrs``: ``input.value``, ``output.value``,
    ``metadata`` and ``tag.tags`` (the bulky or structured ones); small scalars such as
    ``llm.model_name`` stay in the attributes too, so filters on the original keys keep working.
    """
    model = _NO_MODEL_VALUES if _MODEL_KEYS.isdisjoint(attrs) else _model_values(attrs)
    if _SPAN_ONLY_KEYS.isdisjoint(attrs):
        session = user = span_env = span_version = http_status = None
    else:
        session = as_str(first_present(attrs, SESSION))
        user = as_str(first_present(attrs, USER))
        span_env = first_present(attrs, ENVIRONMENT)
        span_version = first_present(attrs, SPAN_VERSION)
        http_status = as_int(first_present(attrs, HTTP_STATUS))
    environment = as_str(span_env or first_present(resource_attrs, ENVIRONMENT))
    version = as_str(span_version or resource_attrs.get("service.version"))
    raw_metadata = attrs.pop("metadata", None)
    return (
        *model,
        session,
        user,
        environment,
        version,
        http_status,
        _pop_str(attrs, "input.value"),
        _pop_str(attrs, "output.value"),
        {} if raw_metadata is None else parse_json_object(raw_metadata),
        _pop_tags(attrs) if "tag.tags" in attrs else (),
    )


def _model_values(attrs: dict[str, Any]) -> tuple[Any, ...]:
    prompt = as_int(first_present(attrs, PROMPT_TOKENS))
    completion = as_int(first_present(attrs, COMPLETION_TOKENS))
    total = as_int(first_present(attrs, TOTAL_TOKENS))
    if total is None and (prompt is not None or completion is not None):
        total = (prompt or 0) + (completion or 0)
    return (
        as_str(first_present(attrs, MODEL)),
        as_str(first_present(attrs, PROVIDER)),
        prompt,
        completion,
        total,
        _cost(attrs),
    )


def _cost(attrs: dict[str, Any]) -> float | None:
    total = as_float(attrs.get("llm.cost.total"))
    if total is not None:
        return total
    prompt = as_float(attrs.get("llm.cost.prompt"))
    completion = as_float(attrs.get("llm.cost.completion"))
    if prompt is None and completion is None:
        return None
    return (prompt or 0.0) + (completion or 0.0)


def _pop_str(attrs: dict[str, Any], key: str) -> str | None:
    value = attrs.get(key)
    if value is None:
        return None
    text = as_str(value)
    if text is not None:
        del attrs[key]
    return text


def _pop_tags(attrs: dict[str, Any]) -> tuple[str, ...]:
    raw = attrs.get("tag.tags")
    if isinstance(raw, str):
        del attrs["tag.tags"]
        return (raw,)
    if isinstance(raw, list) and all(isinstance(tag, str) for tag in raw):
        del attrs["tag.tags"]
        return tuple(raw)
    return ()
