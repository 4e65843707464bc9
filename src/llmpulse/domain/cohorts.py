"""Saved cohorts: named filter expressions over span keys.

Grammar (case-insensitive keywords; ``and`` only — a cohort is a conjunction)::

    expression := condition ( "and" condition )*
    condition  := key "=" value | key "!=" value | key ["not"] "in" "(" value ("," value)* ")"
    value      := 'single-quoted' | "double-quoted" | bare-word

Keys: a key with a dot is used as written (``metadata.tier``, ``llm.provider``); a bare key is
a typed span column when one exists (``model``, ``kind``, ``name``, ``status_code``,
``provider``, ``environment``, ``version``, ``session_id``, ``user_id``) and otherwise a
metadata key (``tier`` means ``metadata.tier``). ``!=`` and ``not in`` also match spans that
lack the key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from llmpulse.domain.errors import FieldError, InvalidInput

TYPED_KEYS = frozenset(
    {"model", "kind", "name", "status_code", "provider", "environment", "version"}
    | {"session_id", "user_id", "prediction_id"}
)
Op = Literal["=", "!=", "in", "not in"]
_TOKEN = re.compile(
    r"""\s*(?:(?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")|(?P<op>!=|=|\(|\)|,)"""
    r"""|(?P<word>[A-Za-z0-9_.\-:/@*]+))"""
)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")


@dataclass(frozen=True, slots=True)
class Condition:
    """One comparison of a key with one or more values."""

    key: str
    op: Op
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Cohort:
    """A named, parsed cohort."""

    name: str
    expression: str
    conditions: tuple[Condition, ...]
    description: str = ""


def normalize_key(key: str) -> str:
    """Bare keys → typed column or ``metadata.<key>`` (see the module docstring)."""
    if "." in key or key in TYPED_KEYS:
        return key
    return f"metadata.{key}"


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise _bad(text, f"cannot read {text[pos : pos + 10]!r}")
        kind = m.lastgroup or ""
        value = m.group(kind)
        if kind == "str":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        out.append((kind, value))
        pos = m.end()
    return out


def _bad(text: str, why: str) -> InvalidInput:
    return InvalidInput(f"cohort expression {text!r}: {why}", [FieldError("expression", why)])


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise _bad(self.text, "unexpected end")
        self.i += 1
        return tok

    def value(self) -> str:
        kind, v = self.take()
        if kind == "op":
            raise _bad(self.text, f"expected a value, got {v!r}")
        return v

    def values(self) -> tuple[str, ...]:
        if self.take() != ("op", "("):
            raise _bad(self.text, "expected ( after in")
        out = [self.value()]
        while self.peek() == ("op", ","):
            self.take()
            out.append(self.value())
        if self.take() != ("op", ")"):
            raise _bad(self.text, "expected )")
        return tuple(out)

    def condition(self) -> Condition:
        kind, key = self.take()
        if kind != "word":
            raise _bad(self.text, f"expected a key, got {key!r}")
        kind, op = self.take()
        if (kind, op) in (("op", "="), ("op", "!=")):
            return Condition(normalize_key(key), op, (self.value(),))  # type: ignore[arg-type]
        if kind == "word" and op.lower() == "in":
            return Condition(normalize_key(key), "in", self.values())
        if kind == "word" and op.lower() == "not" and self.take()[1].lower() == "in":
            return Condition(normalize_key(key), "not in", self.values())
        raise _bad(self.text, f"expected =, !=, in or not in after {key!r}")

    def parse(self) -> tuple[Condition, ...]:
        if not self.toks:
            raise _bad(self.text, "empty expression")
        out = [self.condition()]
        while self.peek() is not None:
            kind, word = self.take()
            if kind != "word" or word.lower() != "and":
                raise _bad(self.text, f"expected 'and', got {word!r} (only 'and' is supported)")
            out.append(self.condition())
        return tuple(out)


def parse_cohort(name: str, expression: str, description: str = "") -> Cohort:
    """Parse and validate a cohort.

    Raises:
        InvalidInput: the name or the expression is not valid.
    """
    if not _NAME.match(name):
        raise InvalidInput(
            f"cohort name {name!r} is not valid",
            [FieldError("name", "letters, digits, _ . - ; at most 100")],
        )
    return Cohort(name, expression.strip(), _Parser(expression).parse(), description)
