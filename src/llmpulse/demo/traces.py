"""One RAG trace of the demo: CHAIN → RETRIEVER [→ RERANKER] [→ TOOL] → LLM spans.

`build_trace` turns a `TraceInput` (who, when, which model, incident effects) into spans
with realistic text, token counts, latencies and cost. Pure and seeded through the
``random.Random`` it is given.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from llmpulse.demo.corpus import SYSTEM_PROMPT, Corpus, Retrieval
from llmpulse.domain.ids import ProjectName, SpanId, TraceId
from llmpulse.domain.spans import Message, Span, SpanEvent, SpanKind, StatusCode

# USD per million tokens (prompt, completion), public list prices in 2024.
PRICES_PER_MTOK: dict[str, tuple[float, float]] = {
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "claude-3-5-sonnet": (3.00, 15.00),
    "llama-3.1-70b": (0.88, 0.88),
    "claude-3-opus": (15.00, 75.00),
}
PROVIDERS = {
    "gpt-4o": "openai",
    "gpt-4o-mini": "openai",
    "claude-3-5-sonnet": "anthropic",
    "claude-3-opus": "anthropic",
    "llama-3.1-70b": "together",
}
# (time to first token ms, ms per completion token)
_SPEED = {
    "gpt-4o": (380.0, 14.0),
    "gpt-4o-mini": (260.0, 7.0),
    "claude-3-5-sonnet": (520.0, 16.0),
    "claude-3-opus": (900.0, 32.0),
    "llama-3.1-70b": (300.0, 11.0),
}
_LLM_ERRORS = (
    ("openai.RateLimitError", "Error code: 429 - rate limit reached for requests"),
    ("openai.APITimeoutError", "Request timed out after 30.0 seconds"),
    ("anthropic.InternalServerError", "Error code: 529 - overloaded_error"),
)
_RETRIEVER_ERROR = ("ConnectionError", "vector store unavailable: connection reset by peer")
_TOOLS = {
    "billing": ("lookup_account", '{"account_id": "acct_%05d"}'),
    "refund": ("lookup_invoices", '{"account_id": "acct_%05d", "limit": 3}'),
    "pricing": ("get_price_quote", '{"seats": %d, "plan": "enterprise"}'),
    "troubleshooting": ("check_service_status", '{"region_code": %d}'),
}
_MS = timedelta(milliseconds=1)


@dataclass(slots=True)
class TraceInput:
    """Everything that decides one trace."""

    project: ProjectName
    start: datetime
    session_id: str
    user_id: str
    metadata: dict[str, str]  # tier, region, product_line, intent
    version: str
    model: str
    latency_factor: float
    error_rate: float


@dataclass(slots=True)
class TraceOutcome:
    """The spans of one trace and what the annotator needs to know about it."""

    spans: list[Span]
    root: Span
    llm: Span | None
    failed: bool


def _id64(rng: random.Random) -> SpanId:
    return SpanId(f"{rng.getrandbits(64) | 1:016x}")


class _Builder:
    """Shared fields of every span of one trace."""

    def __init__(self, rng: random.Random, t: TraceInput) -> None:
        self.rng, self.t = rng, t
        self.trace_id = TraceId(f"{rng.getrandbits(128) | 1:032x}")
        self.root_id = _id64(rng)

    def span(self, name: str, kind: SpanKind, start: datetime, end: datetime, **kw: object) -> Span:
        t = self.t
        kw.setdefault("status_code", StatusCode.OK)
        return Span(
            project=t.project,
            trace_id=self.trace_id,
            span_id=kw.pop("span_id", None) or _id64(self.rng),  # type: ignore[arg-type]
            parent_span_id=kw.pop("parent", self.root_id),  # type: ignore[arg-type]
            name=name,
            kind=kind,
            start_time=start,
            end_time=end,
            session_id=t.session_id,
            user_id=t.user_id,
            environment="production",
            version=t.version,
            metadata=dict(t.metadata),
            **kw,  # type: ignore[arg-type]
        )


def _error_fields(end: datetime, exc: tuple[str, str]) -> dict[str, object]:
    event = SpanEvent("exception", end, {"exception.type": exc[0], "exception.message": exc[1]})
    return {
        "status_code": StatusCode.ERROR,
        "status_message": f"{exc[0]}: {exc[1]}",
        "exception_type": exc[0],
        "exception_message": exc[1],
        "events": (event,),
    }


def _llm_span(
    b: _Builder,
    start: datetime,
    question: str,
    context: str,
    answer: str,
    fail: bool,
) -> Span:
    rng, t = b.rng, b.t
    user = f"{context}\n\nQuestion: {question}"
    prompt_tokens = (len(SYSTEM_PROMPT) + len(user)) // 4 + int(rng.random() * 24)
    completion = len(answer) // 4 + int(rng.random() * 16)
    ttft, per_token = _SPEED[t.model]
    ms = (ttft + completion * per_token) * rng.lognormvariate(0.0, 0.22) * t.latency_factor
    end = start + ms * _MS
    p_price, c_price = PRICES_PER_MTOK[t.model]
    inputs = (Message("system", SYSTEM_PROMPT), Message("user", user))
    kw: dict[str, object] = {
        "model": t.model,
        "provider": PROVIDERS[t.model],
        "input_messages": inputs,
        "attributes": {"llm.invocation_parameters": '{"temperature": 0.2, "max_tokens": 512}'},
        "prompt_tokens": prompt_tokens,
    }
    if fail:
        kw.update(_error_fields(end, rng.choice(_LLM_ERRORS)))
        kw.update(completion_tokens=0, total_tokens=prompt_tokens)
        kw["cost_usd"] = round(prompt_tokens * p_price / 1e6, 8)
        return b.span("generate", SpanKind.LLM, start, end, **kw)
    kw.update(
        completion_tokens=completion,
        total_tokens=prompt_tokens + completion,
        cost_usd=round((prompt_tokens * p_price + completion * c_price) / 1e6, 8),
        output_messages=(Message("assistant", answer),),
        output_value=answer,
    )
    return b.span("generate", SpanKind.LLM, start, end, **kw)


def _tool_span(b: _Builder, start: datetime) -> Span | None:
    tool = _TOOLS.get(b.t.metadata["intent"])
    if tool is None or b.rng.random() >= 0.6:
        return None
    end = start + (40.0 + b.rng.expovariate(1 / 90.0)) * _MS
    args = tool[1] % b.rng.randint(1, 99_999)
    result = '{"status": "ok", "items": %d}' % b.rng.randint(0, 5)  # noqa: UP031
    return b.span(tool[0], SpanKind.TOOL, start, end, input_value=args, output_value=result)


def _rerank_span(b: _Builder, start: datetime, pick: Retrieval) -> Span:
    end = start + (25.0 + b.rng.expovariate(1 / 30.0)) * _MS
    attrs = {"reranker.model_name": "bge-reranker-v2", "reranker.top_k": 3}
    return b.span(
        "rerank", SpanKind.RERANKER, start, end, documents=pick.reranked, attributes=attrs
    )


def build_trace(rng: random.Random, corpus: Corpus, t: TraceInput) -> TraceOutcome:
    """Build the spans of one RAG request (root first).

    A failing trace (probability ``t.error_rate``) fails in the retriever a quarter of the
    time and in the LLM call otherwise; the root span then carries the same exception.
    """
    b = _Builder(rng, t)
    intent = t.metadata["intent"]
    question = rng.choice(corpus.questions[intent])
    answer = rng.choice(corpus.answers[intent])
    failed = rng.random() < t.error_rate
    ret_start = t.start + 2 * _MS
    ret_end = ret_start + (35.0 + rng.expovariate(1 / 70.0)) * _MS
    llm: Span | None = None
    if failed and rng.random() < 0.25:
        err = _error_fields(ret_end, _RETRIEVER_ERROR)
        retrieve = b.span("retrieve", SpanKind.RETRIEVER, ret_start, ret_end, input_value=question,
                          **err)  # fmt: skip
        spans, last = [retrieve], ret_end
    else:
        pick = rng.choice(corpus.retrievals[intent])
        docs, context = pick.documents, pick.context
        attrs = {"retrieval.top_k": len(docs)}
        retrieve = b.span("retrieve", SpanKind.RETRIEVER, ret_start, ret_end, input_value=question,
                          documents=docs, attributes=attrs)  # fmt: skip
        spans, last = [retrieve], ret_end
        if rng.random() < 0.3:
            rerank = _rerank_span(b, last + _MS, pick)
            context = pick.reranked_context
            spans.append(rerank)
            last = rerank.end_time
        tool = _tool_span(b, last + _MS)
        if tool is not None:
            spans.append(tool)
            last = tool.end_time
        llm = _llm_span(b, last + _MS, question, context, answer, failed)
        spans.append(llm)
        last = llm.end_time
    failing = spans[-1]
    root_kw: dict[str, object] = {"input_value": question, "parent": None, "span_id": b.root_id}
    if failed:
        exc = (failing.exception_type or "Error", failing.exception_message or "")
        root_kw.update(_error_fields(last + 3 * _MS, exc))
    else:
        root_kw.update(output_value=answer, status_code=StatusCode.OK)
    root = b.span("rag.query", SpanKind.CHAIN, t.start, last + 3 * _MS, **root_kw)
    spans.insert(0, root)
    return TraceOutcome(spans, root, llm, failed)
