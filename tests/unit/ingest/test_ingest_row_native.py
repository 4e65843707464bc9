"""The native ``rows_fast`` gives exactly `build_row`'s rows, or leaves the span to it."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmpulse.domain.ids import ProjectName
from llmpulse.ingest import genai, native, semconv
from llmpulse.ingest.openinference import RawSpan, _rows_fast, build_row, invalid, rows_from_raw

MIN_NS = 86_400 * 1_000_000_000
MAX_NS = 7_258_118_400 * 1_000_000_000
START = 1_763_900_000_000_000_000

# Every key the mapping reads, and some it does not.
KEYS = sorted(
    {
        *semconv.MODEL, *semconv.PROVIDER, *semconv.PROMPT_TOKENS, *semconv.COMPLETION_TOKENS,
        *semconv.TOTAL_TOKENS, *semconv.SESSION, *semconv.USER, *semconv.ENVIRONMENT,
        *semconv.SPAN_VERSION, *semconv.HTTP_STATUS, semconv.SPAN_KIND, "gen_ai.operation.name",
        "gen_ai.system", "llm.cost.total", "llm.cost.prompt", "llm.cost.completion", "metadata",
        "input.value", "output.value", "tag.tags", "otel.scope.name", "http.method", "other",
    }
)  # fmt: skip
GENAI_KEYS = [genai.INPUT_MESSAGES, genai.OUTPUT_MESSAGES, genai.SYSTEM_INSTRUCTIONS]
TEXTS = st.one_of(
    st.text(max_size=8),
    st.sampled_from(
        [
            "LLM", "llm", " chain ", "RETRIEVER", "bogus", "embeddings", "execute_tool", "12",
            " 7 ", "1_000", "١٢", "2.5", "-0.0", "1e3", "nan", "{}", '{"a": 1}', "[1]", "{bad",
        ]
    ),
)  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    TEXTS,
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(),
    st.sampled_from([0.0, -0.0, 3.0, 2.5, float("inf")]),
)
VALUES = st.one_of(
    SCALARS,
    st.lists(st.one_of(TEXTS, st.integers(max_value=9)), max_size=3),
    st.dictionaries(st.text(max_size=3), SCALARS, max_size=2),
)
ATTRS = st.dictionaries(st.sampled_from(KEYS + KEYS + GENAI_KEYS), VALUES, max_size=8)
INDEXED_KEYS = [
    "llm.input_messages.0.message.role",
    "llm.input_messages.0.message.content",
    "llm.input_messages.1.message.content",
    "llm.output_messages.0.message.role",
    "llm.output_messages.0.message.content",
    "retrieval.documents.0.document.id",
    "retrieval.documents.0.document.content",
    "retrieval.documents.0.document.score",
    "retrieval.documents.1.document.metadata",
    "llm.input_messages.0.message.name",
    "gen_ai.prompt.0.content",
]
INDEXED = st.dictionaries(
    st.sampled_from(INDEXED_KEYS),
    st.one_of(TEXTS, st.floats(allow_nan=False), st.integers(max_value=9), st.none()),
    max_size=4,
)
VALID_TIMES = st.integers(min_value=MIN_NS, max_value=MAX_NS - 2**40)
ODD_TIMES = st.sampled_from([0, MIN_NS - 1, MAX_NS, 2**64 - 1])
GOOD_ID16 = st.binary(min_size=16, max_size=16).filter(any)
GOOD_ID8 = st.binary(min_size=8, max_size=8).filter(any)
EVENT = st.tuples(st.sampled_from(["exception", "log"]), VALID_TIMES, st.just({"a": 1}))


@st.composite
def raw_spans(draw: st.DrawFn) -> RawSpan:
    """Mostly spans the native path must handle; now and then one it must defer."""
    odd = draw(st.integers(min_value=0, max_value=9)) == 0  # one in ten breaks a rule
    start = draw(VALID_TIMES)
    end = start + draw(st.integers(min_value=0, max_value=2**40))
    trace, span = draw(GOOD_ID16), draw(GOOD_ID8)
    parent = draw(st.one_of(st.just(b""), GOOD_ID8))
    events: list[tuple[str, int, dict[str, Any]]] = []
    if odd:
        broken = draw(st.sampled_from(["trace", "span", "parent", "start", "end", "events"]))
        trace = draw(st.sampled_from([bytes(16), b"x" * 8])) if broken == "trace" else trace
        span = draw(st.sampled_from([bytes(8), b"abc"])) if broken == "span" else span
        parent = b"abc" if broken == "parent" else parent
        start = draw(ODD_TIMES) if broken == "start" else start
        end = draw(st.one_of(ODD_TIMES, st.just(start - 1))) if broken == "end" else end
        events = [draw(EVENT)] if broken == "events" else events
    return RawSpan(
        trace_id=trace,
        span_id=span,
        parent_span_id=parent,
        name=draw(st.text(max_size=6)),
        start_ns=start,
        end_ns=end,
        attributes=draw(ATTRS),
        indexed=draw(st.one_of(st.just({}), INDEXED)),
        events=events,
        status_code=draw(st.integers(min_value=-1, max_value=3)),
        status_message=draw(st.one_of(st.just(""), st.text(max_size=4))),
    )


RESOURCES = st.dictionaries(
    st.sampled_from(["service.version", *semconv.ENVIRONMENT, "service.name"]),
    SCALARS,
    max_size=3,
)
SCOPE_TEXT = st.one_of(st.just(""), st.text(max_size=4))
PROJECT = ProjectName("p")


def _must_handle(raw: RawSpan) -> bool:
    """The spans `rows_fast` may not defer: valid, no events, no GenAI messages, no indexed."""
    return (
        invalid(raw) is None
        and not raw.events
        and not raw.indexed
        and not any(k in raw.attributes for k in GENAI_KEYS)
    )


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    spans=st.lists(raw_spans(), min_size=1, max_size=4),
    resource=RESOURCES,
    scope_name=SCOPE_TEXT,
    scope_version=SCOPE_TEXT,
)
def test_rows_fast_equals_build_row_or_defers_untouched(
    spans: list[RawSpan], resource: dict[str, Any], scope_name: str, scope_version: str
) -> None:
    ext = native.module
    assert ext is not None
    before = copy.deepcopy(spans)
    built, deferred = _rows_fast(ext, spans, resource, scope_name, scope_version, PROJECT)
    assert deferred == sum(row is None for row in built)
    for row, raw, original in zip(built, spans, before, strict=True):
        if row is None:
            assert not _must_handle(original)
            assert repr(raw) == repr(original)  # left exactly as it came
            continue
        assert invalid(original) is None
        expected = build_row(original, resource, scope_name, scope_version, PROJECT)
        # repr tells 1 from 1.0, -0.0 from 0.0 and keeps the attributes' key order
        assert repr(row) == repr(expected)


def test_rows_from_raw_is_the_same_with_and_without_the_extension() -> None:
    spans = [
        RawSpan(
            bytes.fromhex("0af7651916cd43dd8448eb211c80319c"), bytes([i + 1]) * 8, b"", "s",
            START, START + 1000 * i, {"llm.model_name": "gpt-4o", "llm.token_count.prompt": i},
            {"llm.input_messages.0.message.role": "user"},
        )
        for i in range(3)
    ]  # fmt: skip
    spans[1].events.append(("exception", START, {"exception.message": "boom"}))
    spans[2].end_ns = START - 1
    resources = [({"service.name": "svc"}, [("scope", "1", spans)])]
    with native.python_only():
        expected = rows_from_raw(copy.deepcopy(resources), None)
    got = rows_from_raw(resources, None)
    assert repr(got.rows) == repr(expected.rows)
    assert got.rejections == expected.rejections
    assert len(got.rows) == 2
    assert len(got.rejections) == 1


CASES: list[dict[str, Any]] = [
    {"llm.cost.prompt": -0.0, "llm.cost.completion": -0.0},
    {"llm.cost.completion": -0.0},
    {"llm.cost.total": "0.5", "llm.cost.prompt": 1.0},
    {"tag.tags": ["a", "b"]},
    {"tag.tags": ["a", 1]},
    {"tag.tags": "solo"},
    {"gen_ai.operation.name": "embeddings"},
    {"gen_ai.operation.name": "chat", "llm.model_name": "m"},
    {"openinference.span.kind": " chain "},
    {"openinference.span.kind": "nope", "gen_ai.operation.name": "embeddings"},
    {"gen_ai.system": "openai"},
    {"llm.token_count.prompt": " 7 ", "llm.token_count.completion": 3.0},
    {"llm.token_count.prompt": 0, "llm.token_count.completion": 0},
    {"llm.token_count.total": True, "gen_ai.usage.total_tokens": 9},
    {"http.response.status_code": 200.0, "session.id": 12, "user.id": 2.5},
    {"deployment.environment.name": "", "deployment.environment": "prod"},
    {"deployment.environment.name": 0, "service.version": []},
    {"metadata": "{bad", "input.value": 3, "output.value": None},
    {"metadata": '{"tier": "gold"}', "input.value": ["x"], "output.value": False},
]


def test_rows_fast_equals_build_row_on_chosen_cases() -> None:
    ext = native.module
    assert ext is not None
    for i, attrs in enumerate(CASES):
        raw = RawSpan(bytes(15) + b"\x01", bytes(7) + b"\x01", b"", "s", START, START + 5, attrs)
        resource = {"deployment.environment": "res-env", "service.version": "1.2"}
        before = copy.deepcopy(raw)
        built, deferred = _rows_fast(ext, [raw], resource, "scope", "", PROJECT)
        assert deferred == 0, attrs
        expected = build_row(before, resource, "scope", "", PROJECT)
        assert repr(built[0]) == repr(expected), (i, attrs)
