"""Label matchers with Alertmanager semantics (`pkg/labels/matcher_test.go`)."""

from __future__ import annotations

import pytest

from llmpulse.alerts.matchers import Matcher, MatchOp, matches_all, parse_matcher
from llmpulse.domain.errors import InvalidInput

CASES = [
    ("=", "bar", {"foo": "bar"}, True),
    ("=", "bar", {"foo": "baz"}, False),
    ("=", "", {}, True),  # missing label = empty value
    ("!=", "bar", {"foo": "bar"}, False),
    ("!=", "bar", {"foo": "baz"}, True),
    ("!=", "bar", {}, True),
    ("=~", "bar", {"foo": "bar"}, True),
    ("=~", "bar", {"foo": "barbar"}, False),  # anchored
    ("=~", "ba.*", {"foo": "barbar"}, True),
    ("=~", "a|b", {"foo": "xa"}, False),  # alternation stays inside the anchors
    ("=~", ".*", {}, True),
    ("=~", ".+", {}, False),
    ("!~", "bar", {"foo": "bar"}, False),
    ("!~", "bar", {"foo": "baz"}, True),
    ("!~", "ba.*", {"foo": "barbar"}, False),
    ("!~", ".+", {}, True),
]


@pytest.mark.parametrize(("op", "value", "labels", "want"), CASES)
def test_matcher(op: str, value: str, labels: dict[str, str], want: bool) -> None:
    assert Matcher("foo", MatchOp(op), value).matches(labels) is want


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ('severity="page"', Matcher("severity", MatchOp.EQUAL, "page")),
        ("severity!=page", Matcher("severity", MatchOp.NOT_EQUAL, "page")),
        ('svc=~"api|web"', Matcher("svc", MatchOp.REGEX, "api|web")),
        ("svc !~ db.*", Matcher("svc", MatchOp.NOT_REGEX, "db.*")),
        ('eq="a=b"', Matcher("eq", MatchOp.EQUAL, "a=b")),
    ],
)
def test_parse_matcher(text: str, want: Matcher) -> None:
    assert parse_matcher(text) == want


@pytest.mark.parametrize("text", ["novalue", "=x", '=~"a"'])
def test_parse_matcher_rejects_malformed(text: str) -> None:
    with pytest.raises(InvalidInput, match="matcher"):
        parse_matcher(text)


def test_invalid_regex_is_invalid_input_naming_the_label() -> None:
    with pytest.raises(InvalidInput, match="matcher svc"):
        Matcher("svc", MatchOp.REGEX, "(unclosed")


def test_re2_rejects_backreferences() -> None:
    with pytest.raises(InvalidInput):
        Matcher("svc", MatchOp.REGEX, r"(a)\1")


def test_matches_all() -> None:
    ms = [parse_matcher("a=1"), parse_matcher("b=~2|3")]
    assert matches_all(ms, {"a": "1", "b": "3"})
    assert not matches_all(ms, {"a": "1", "b": "4"})
    assert matches_all([], {})
