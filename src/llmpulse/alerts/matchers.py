"""Label matchers `=`, `!=`, `=~`, `!~`, with Alertmanager's semantics.

Regular expressions are RE2 (linear time; user supplied) and anchored at both ends, as in
Alertmanager: `service=~"api|web"` matches `api` but not `api-2`. A label that is absent
matches as the empty string, so `team!="db"` matches an alert without `team`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import re2

from llmpulse.domain.errors import InvalidInput

LabelSet = Mapping[str, str]


class MatchOp(StrEnum):
    """How a matcher compares a label value."""

    EQUAL = "="
    NOT_EQUAL = "!="
    REGEX = "=~"
    NOT_REGEX = "!~"


@dataclass(frozen=True)
class Matcher:
    """One condition on one label.

    Attributes:
        name: The label name.
        op: The comparison.
        value: A literal, or an RE2 pattern for `=~` / `!~` (anchored).
    """

    name: str
    op: MatchOp
    value: str
    _compiled: Any = field(default=None, init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        if not self.name:
            raise InvalidInput("matcher: label name must not be empty")
        if self.op in (MatchOp.REGEX, MatchOp.NOT_REGEX):
            try:
                compiled = re2.compile(f"^(?:{self.value})$")
            except re2.error as exc:
                raise InvalidInput(
                    f"matcher {self.name}: invalid regular expression {self.value!r}: {exc}"
                ) from exc
            object.__setattr__(self, "_compiled", compiled)

    def matches(self, labels: LabelSet) -> bool:
        """Return whether ``labels`` satisfy this matcher (missing label = empty value)."""
        got = labels.get(self.name, "")
        if self.op is MatchOp.EQUAL:
            return got == self.value
        if self.op is MatchOp.NOT_EQUAL:
            return got != self.value
        hit = self._compiled.match(got) is not None
        return hit if self.op is MatchOp.REGEX else not hit

    def __str__(self) -> str:
        return f'{self.name}{self.op.value}"{self.value}"'


_OPS = (MatchOp.REGEX, MatchOp.NOT_REGEX, MatchOp.NOT_EQUAL, MatchOp.EQUAL)


def parse_matcher(text: str) -> Matcher:
    """Parse ``name<op>value`` (value optionally double-quoted), e.g. ``severity=~"crit|page"``.

    Raises:
        InvalidInput: When no operator is found or the name is empty.
    """
    best: tuple[int, MatchOp] | None = None
    for op in _OPS:
        at = text.find(op.value)
        if at > 0 and (best is None or at < best[0]):
            best = (at, op)
    if best is None:
        raise InvalidInput(f"matcher {text!r}: expected name, one of = != =~ !~, and a value")
    at, op = best
    name = text[:at].strip()
    value = text[at + len(op.value) :].strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return Matcher(name, op, value)


def matches_all(matchers: Iterable[Matcher], labels: LabelSet) -> bool:
    """Return whether every matcher matches ``labels`` (an empty list matches everything)."""
    return all(m.matches(labels) for m in matchers)
