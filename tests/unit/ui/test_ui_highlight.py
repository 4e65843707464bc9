"""Search-match highlighting: escaped text, every match marked in its own case, snippets."""

from __future__ import annotations

from datetime import UTC, datetime

from llmpulse.domain.ids import ProjectName, SpanId, TraceId
from llmpulse.domain.spans import Message, RetrievedDocument, Span, SpanKind
from llmpulse.ui.highlight import excerpt_match, first_match, highlight, search_suffix, snippet

T = datetime(2026, 12, 1, tzinfo=UTC)


def _span(**kw: object) -> Span:
    return Span(
        project=ProjectName("p"), trace_id=TraceId("0" * 32), span_id=SpanId("1" * 16),
        parent_span_id=None, name="n", kind=SpanKind.LLM, start_time=T, end_time=T,
        **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def test_highlight_marks_every_match_in_its_own_case_and_escapes_the_rest() -> None:
    got = str(highlight("<b>Tax</b> and tax & TAX", "tax"))
    assert got == (
        '&lt;b&gt;<mark class="hit">Tax</mark>&lt;/b&gt; and <mark class="hit">tax</mark> '
        '&amp; <mark class="hit">TAX</mark>'
    )


def test_highlight_never_splits_an_entity_and_escapes_the_needle() -> None:
    assert str(highlight("a<b", "<")) == 'a<mark class="hit">&lt;</mark>b'
    assert str(highlight("fish & chips", "amp")) == "fish &amp; chips"


def test_highlight_without_a_needle_only_escapes() -> None:
    assert str(highlight("<i>", None)) == "&lt;i&gt;"
    assert str(highlight(None, "x")) == ""


def test_snippet_cuts_around_a_match_past_the_preview_width() -> None:
    text = "word " * 100 + "NEEDLE here " + "tail " * 100
    got = str(snippet(text, "needle", width=40))
    assert '<mark class="hit">NEEDLE</mark>' in got
    assert got.startswith("…")
    assert got.endswith("…")
    assert len(got.replace('<mark class="hit">', "").replace("</mark>", "")) <= 42


def test_snippet_without_a_match_is_the_start_of_the_value() -> None:
    assert str(snippet("abc " * 50, "zzz", width=10)) == "abc abc a…"


def test_first_match_names_the_field_that_holds_the_match() -> None:
    span = _span(
        input_value="hello",
        output_messages=(Message("assistant", "the answer"),),
        documents=(RetrievedDocument("d1", "first"), RetrievedDocument("d2", "Okapi")),
        exception_type="ValueError",
        exception_message="bad okapi",
    )
    hit = first_match(span, "okapi")
    assert hit is not None
    assert hit[0] == "document 2"
    assert '<mark class="hit">Okapi</mark>' in str(hit[1])
    assert first_match(span, "valueerror") is not None
    assert first_match(span, "nothing") is None
    assert first_match(span, None) is None


def test_search_suffix_quotes_the_text() -> None:
    assert search_suffix("a b&c") == "&q=a%20b%26c"
    assert search_suffix(None) == ""


def test_excerpt_match_prefers_the_input_preview_in_its_own_case() -> None:
    span = _span(input_value="Ask about Reverse-Charge invoices")
    got = excerpt_match(span, "… ask about reverse-charge invoices …", "reverse-charge")
    assert got is not None
    assert got[0] == "input"
    assert str(got[1]) == 'Ask about <mark class="hit">Reverse-Charge</mark> invoices'


def test_excerpt_match_shows_the_excerpt_when_the_preview_lacks_the_match() -> None:
    span = _span(input_value="What is the VAT rate?")
    got = excerpt_match(span, "passage: <b>reverse-charge</b> applies", "REVERSE-CHARGE")
    assert got is not None
    assert got[0] == "text"
    assert (
        str(got[1]) == 'passage: &lt;b&gt;<mark class="hit">reverse-charge</mark>&lt;/b&gt; applies'
    )
    assert excerpt_match(span, "nothing here", "reverse-charge") is None
    assert excerpt_match(span, None, "reverse-charge") is None
    assert excerpt_match(span, "reverse-charge", None) is None
