"""The native common case of parse_indexed gives exactly what the Python mapping gives."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmpulse.domain.spans import Message, RetrievedDocument
from llmpulse.ingest import native as native_loader
from llmpulse.ingest.indexed import Indexed, parse_indexed, parse_indexed_py, parse_json_object

native = importlib.import_module("llmpulse.ingest._wire")
FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

MESSAGE_FIELDS = ("message.role", "message.content")
DOCUMENT_FIELDS = ("document.id", "document.content", "document.score", "document.metadata")
LISTS = {
    "llm.input_messages.": MESSAGE_FIELDS,
    "llm.output_messages.": MESSAGE_FIELDS,
    "retrieval.documents.": DOCUMENT_FIELDS,
}


def fast(indexed: dict[str, Any]) -> Indexed | None:
    out = native.indexed_fast(indexed, Message, RetrievedDocument, parse_json_object)
    return None if out is None else Indexed(*out)


indexes = st.one_of(st.integers(min_value=0, max_value=12).map(str), st.sampled_from(["01", "007"]))
odd_indexes = st.sampled_from(["", "x", "1x", "²", "-1", "1234567890", " 1"])
values = st.one_of(
    st.text(max_size=8),
    st.integers(min_value=-5, max_value=5),
    st.floats(allow_nan=False),
    st.booleans(),
    st.none(),
    st.lists(st.text(max_size=3), max_size=2),
    st.sampled_from(['{"source": "kb"}', "not json", "[1]"]),
)


@st.composite
def common_case(draw: st.DrawFn) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for prefix, fields in LISTS.items():
        for index in draw(st.lists(indexes, max_size=4)):
            for name in draw(st.lists(st.sampled_from(fields), min_size=1, unique=True)):
                if name == "document.score":
                    value: Any = draw(st.one_of(st.floats(allow_nan=False), st.integers()))
                elif name == "document.metadata":
                    value = draw(st.one_of(st.none(), st.sampled_from(['{"a": 1}', "x", "[]"])))
                else:
                    value = draw(st.text(max_size=10))
                out[f"{prefix}{index}.{name}"] = value
    return out


@st.composite
def any_case(draw: st.DrawFn) -> dict[str, Any]:
    out = draw(common_case())
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        prefix = draw(st.sampled_from([*LISTS, "gen_ai.prompt.", "gen_ai.completion."]))
        index = draw(st.one_of(indexes, odd_indexes))
        name = draw(
            st.sampled_from(
                [*MESSAGE_FIELDS, *DOCUMENT_FIELDS, "role", "content", "message.name",
                 "message.tool_calls.0.tool_call.function.name", "message.contents.0.x"]
            )
        )  # fmt: skip
        out[f"{prefix}{index}.{name}"] = draw(values)
    return out


@FUZZ
@given(indexed=common_case())
def test_indexed_fast_takes_the_common_case_and_matches_python(indexed: dict[str, Any]) -> None:
    expected = parse_indexed_py(dict(indexed))
    got = fast(indexed)
    assert got is not None, "a common-case span must not fall back"
    assert got == expected
    assert expected.leftovers == {}


@FUZZ
@given(indexed=any_case())
def test_indexed_fast_matches_python_or_defers_on_any_input(indexed: dict[str, Any]) -> None:
    expected = parse_indexed_py(dict(indexed))
    got = fast(dict(indexed))
    if got is not None:
        assert got == expected
    assert parse_indexed(dict(indexed)) == expected


def test_indexed_fast_orders_by_index_and_merges_leading_zeros() -> None:
    indexed = {
        "retrieval.documents.10.document.content": "ten",
        "retrieval.documents.2.document.content": "two",
        "retrieval.documents.02.document.score": 3,
        "llm.output_messages.0.message.content": "hi",
    }
    got = fast(indexed)
    assert got is not None
    assert [d.content for d in got.documents] == ["two", "ten"]
    assert got.documents[0].score == 3.0
    assert got.output_messages == (Message(role="", content="hi"),)
    assert got == parse_indexed_py(indexed)


def test_indexed_fast_defers_on_values_python_coerces() -> None:
    assert fast({"llm.input_messages.0.message.role": 7}) is None  # Python formats it as "7"
    assert fast({"retrieval.documents.0.document.score": "0.5"}) is None
    assert fast({"retrieval.documents.0.document.score": True}) is None
    assert fast({"gen_ai.prompt.0.content": "hi"}) is None


def test_parse_indexed_keeps_keys_with_non_ascii_digit_indexes_as_leftovers() -> None:
    # "²".isdigit() is True but int("²") raises: such keys once failed the whole request.
    indexed = {
        "llm.input_messages.².message.role": "user",
        "llm.input_messages.0.message.contents.².message_content.text": "hi",
        "llm.output_messages.0.message.tool_calls.².tool_call.function.name": "f",
    }
    out = parse_indexed(dict(indexed))
    assert out.input_messages == (Message(role="", content=""),)
    assert out.output_messages == (Message(role="", content=""),)
    assert out.leftovers == indexed


def test_python_only_runs_the_python_mapping_and_restores_the_native_one() -> None:
    built = native_loader.module
    assert built is not None
    with native_loader.python_only():
        assert native_loader.module is None
        out = parse_indexed({"llm.input_messages.0.message.role": "user"})
    assert native_loader.module is built
    assert out.input_messages == (Message(role="user", content=""),)


def test_indexed_fast_runs_the_init_of_a_class_it_cannot_build_directly() -> None:
    # Message and RetrievedDocument are built slot by slot, as their dataclass __init__ would;
    # a class with a __post_init__ (or of another shape) must still go through __init__.
    seen: list[str] = []

    @dataclass(frozen=True, slots=True)
    class Checked:
        role: str
        content: str
        tool_calls: tuple[Any, ...] = ()

        def __post_init__(self) -> None:
            seen.append(self.role)

    class Plain:
        def __init__(self, *args: Any) -> None:
            self.args = args

    out = native.indexed_fast(
        {"llm.input_messages.0.message.role": "user", "retrieval.documents.0.document.id": "d"},
        Checked,
        Plain,
        parse_json_object,
    )
    assert out[0] == (Checked("user", ""),)
    assert seen == ["user", "user"]  # once by indexed_fast, once by the comparison's Checked
    assert out[2][0].args == ("d", "", None, None)
