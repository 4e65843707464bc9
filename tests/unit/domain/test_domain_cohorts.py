"""Cohort expressions parse into conditions, and bad ones name the problem."""

from __future__ import annotations

import pytest

from llmpulse.domain.cohorts import Condition, parse_cohort
from llmpulse.domain.errors import InvalidInput


def test_parse_cohort_reads_equality_and_in_lists() -> None:
    c = parse_cohort("eu-ent", "tier = 'enterprise' and region in ('eu-west', \"eu-north\")")
    assert c.conditions == (
        Condition("metadata.tier", "=", ("enterprise",)),
        Condition("metadata.region", "in", ("eu-west", "eu-north")),
    )


def test_parse_cohort_keeps_typed_and_dotted_keys() -> None:
    c = parse_cohort("x", "model != gpt-4o AND llm.provider NOT IN ('a', 'b') and version = v2")
    assert c.conditions == (
        Condition("model", "!=", ("gpt-4o",)),
        Condition("llm.provider", "not in", ("a", "b")),
        Condition("version", "=", ("v2",)),
    )


def test_parse_cohort_unescapes_quoted_values() -> None:
    c = parse_cohort("q", r"name = 'it\'s'")
    assert c.conditions[0].values == ("it's",)


@pytest.mark.parametrize(
    "expression",
    ["", "tier", "tier =", "tier = 'a' or region = 'b'", "tier in 'a'", "tier in ('a'", "= 'a'"],
)
def test_parse_cohort_rejects_bad_expressions(expression: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_cohort("c", expression)
    assert err.value.errors[0].path == "expression"


def test_parse_cohort_rejects_bad_names() -> None:
    with pytest.raises(InvalidInput):
        parse_cohort("has space", "tier = 'a'")
