"""OTel GenAI conventions land in the same typed columns as OpenInference."""

from __future__ import annotations

import json
from typing import Any

import pytest
from ingest_payloads import span
from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope

from llmpulse.domain.spans import Message, Span, SpanKind
from llmpulse.ingest.openinference import to_span

SCOPE = InstrumentationScope(name="test")
PATH = "resource_spans[0].scope_spans[0].spans[0]"
TYPED_COLUMNS = (
    "kind",
    "model",
    "provider",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "session_id",
    "user_id",
    "input_messages",
    "output_messages",
    "status_code",
    "exception_type",
)
CALL = {"id": "call_9", "name": "get_weather", "arguments": '{"city":"Paris"}'}

OPENINFERENCE_CALL = {
    "openinference.span.kind": "LLM",
    "llm.model_name": "gpt-4o-2024-08-06",
    "llm.provider": "openai",
    "llm.token_count.prompt": 31,
    "llm.token_count.completion": 7,
    "llm.token_count.total": 38,
    "session.id": "conv-1",
    "user.id": "u-1",
    "llm.input_messages.0.message.role": "system",
    "llm.input_messages.0.message.content": "You are terse.",
    "llm.input_messages.1.message.role": "user",
    "llm.input_messages.1.message.content": "Weather in Paris?",
    "llm.output_messages.0.message.role": "assistant",
    "llm.output_messages.0.message.content": "Checking.",
    "llm.output_messages.0.message.tool_calls.0.tool_call.id": "call_9",
    "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "get_weather",
    "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": '{"city":"Paris"}',
}

GENAI_STRUCTURED_CALL = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "gpt-4o",
    "gen_ai.response.model": "gpt-4o-2024-08-06",
    "gen_ai.usage.input_tokens": 31,
    "gen_ai.usage.output_tokens": 7,
    "gen_ai.conversation.id": "conv-1",
    "user.id": "u-1",
    "gen_ai.system_instructions": json.dumps([{"type": "text", "content": "You are terse."}]),
    "gen_ai.input.messages": json.dumps(
        [{"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]}]
    ),
    "gen_ai.output.messages": json.dumps(
        [
            {
                "role": "assistant",
                "parts": [
                    {"type": "text", "content": "Checking."},
                    {
                        "type": "tool_call",
                        "id": "call_9",
                        "name": "get_weather",
                        "arguments": {"city": "Paris"},
                    },
                ],
                "finish_reason": "tool_call",
            }
        ]
    ),
}

GENAI_LEGACY_CALL = {
    "gen_ai.system": "openai",
    "gen_ai.request.model": "gpt-4o",
    "gen_ai.response.model": "gpt-4o-2024-08-06",
    "gen_ai.usage.prompt_tokens": 31,
    "gen_ai.usage.completion_tokens": 7,
    "session.id": "conv-1",
    "enduser.id": "u-1",
    "gen_ai.prompt.0.role": "system",
    "gen_ai.prompt.0.content": "You are terse.",
    "gen_ai.prompt.1.role": "user",
    "gen_ai.prompt.1.content": "Weather in Paris?",
    "gen_ai.completion.0.role": "assistant",
    "gen_ai.completion.0.content": "Checking.",
    "gen_ai.completion.0.tool_calls.0.id": "call_9",
    "gen_ai.completion.0.tool_calls.0.name": "get_weather",
    "gen_ai.completion.0.tool_calls.0.arguments": '{"city":"Paris"}',
    "gen_ai.completion.0.finish_reason": "tool_calls",
}


def convert(attrs: dict[str, Any]) -> Span:
    result = to_span({}, SCOPE, span(attrs=attrs, status=(2, "")), PATH, "proj")
    assert isinstance(result, Span), result
    return result


def typed(result: Span) -> dict[str, Any]:
    return {column: getattr(result, column) for column in TYPED_COLUMNS}


@pytest.mark.parametrize(
    "genai", [GENAI_STRUCTURED_CALL, GENAI_LEGACY_CALL], ids=["structured", "legacy"]
)
def test_to_span_fills_same_typed_columns_for_openinference_and_genai_descriptions(
    genai: dict[str, Any],
) -> None:
    expected = typed(convert(OPENINFERENCE_CALL))
    assert expected["output_messages"] == (Message("assistant", "Checking.", (CALL,)),)
    assert typed(convert(genai)) == expected


def test_to_span_drops_structured_genai_messages_only_when_fully_captured() -> None:
    captured = convert(GENAI_STRUCTURED_CALL).attributes
    assert "gen_ai.input.messages" not in captured
    assert "gen_ai.output.messages" not in captured
    assert "gen_ai.system_instructions" not in captured
    image = [
        {"role": "user", "parts": [{"type": "uri", "uri": "s3://b/cat.png", "modality": "image"}]}
    ]
    attrs = {**GENAI_STRUCTURED_CALL, "gen_ai.input.messages": json.dumps(image)}
    kept = convert(attrs)
    assert kept.attributes["gen_ai.input.messages"] == json.dumps(image)
    assert kept.input_messages == (Message("system", "You are terse."), Message("user", ""))


def test_to_span_keeps_unparseable_genai_messages_as_attributes() -> None:
    result = convert({"gen_ai.operation.name": "chat", "gen_ai.input.messages": "not json"})
    assert result.input_messages == ()
    assert result.attributes["gen_ai.input.messages"] == "not json"


def test_to_span_reads_tool_call_response_parts_as_message_content() -> None:
    messages = [
        {
            "role": "tool",
            "parts": [{"type": "tool_call_response", "id": "c", "response": {"t": 21}}],
        }
    ]
    result = convert(
        {"gen_ai.operation.name": "chat", "gen_ai.input.messages": json.dumps(messages)}
    )
    assert result.input_messages == (Message("tool", '{"t":21}'),)


@pytest.mark.parametrize(
    ("attrs", "kind"),
    [
        ({"gen_ai.operation.name": "chat"}, SpanKind.LLM),
        ({"gen_ai.operation.name": "text_completion"}, SpanKind.LLM),
        ({"gen_ai.operation.name": "embeddings"}, SpanKind.EMBEDDING),
        ({"gen_ai.operation.name": "execute_tool"}, SpanKind.TOOL),
        ({"gen_ai.operation.name": "invoke_agent"}, SpanKind.AGENT),
        ({"gen_ai.system": "anthropic"}, SpanKind.LLM),
        ({"gen_ai.operation.name": "chat", "openinference.span.kind": "AGENT"}, SpanKind.AGENT),
    ],
)
def test_to_span_derives_kind_from_genai_operation_unless_openinference_kind_is_set(
    attrs: dict[str, Any], kind: SpanKind
) -> None:
    assert convert(attrs).kind is kind


def test_to_span_prefers_openinference_over_genai_when_both_are_present() -> None:
    result = convert(
        {**GENAI_LEGACY_CALL, "llm.model_name": "oi-model", "llm.token_count.prompt": 1}
    )
    assert (result.model, result.prompt_tokens, result.total_tokens) == ("oi-model", 1, 8)
