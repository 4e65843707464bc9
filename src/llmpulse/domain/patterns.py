"""Model-name patterns of the price table, matched in linear time (RE2).

A price entry's ``match`` is a regular expression written by a user. Python's `re` backtracks:
``(a+)+$`` against a long model name takes exponential time, and one such pattern froze every
route of a server for 21 seconds per span (issue 9). RE2 (``google-re2``) matches in time
linear in the name whatever the pattern, and refuses at compile time what it cannot match that
way (backreferences, lookaround), so a pattern is checked when the table is uploaded.
Matching is case-insensitive and against the whole name, as before.
"""

from __future__ import annotations

from typing import Protocol

import re2

MAX_PATTERN_LENGTH = 1_000


class CompiledPattern(Protocol):
    """What the price book uses of a compiled RE2 pattern."""

    def fullmatch(self, text: str) -> object:
        """A match object when the whole of ``text`` matches, else None."""


def _options() -> re2.Options:
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False  # a refused pattern is reported to the caller, not to stderr
    options.max_mem = 8 << 20  # bounds the compiled program: a pattern cannot eat memory
    return options


def compile_pattern(text: str) -> CompiledPattern:
    """Compile a ``match`` pattern for case-insensitive whole-name matching.

    Raises:
        ValueError: the pattern is too long or not valid RE2 syntax (backreferences and
            lookaround are not supported), with RE2's reason.
    """
    if len(text) > MAX_PATTERN_LENGTH:
        raise ValueError(f"pattern is longer than {MAX_PATTERN_LENGTH} characters")
    try:
        compiled: CompiledPattern = re2.compile(text, _options())
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        shown = text if len(text) <= 80 else text[:80] + "…"
        raise ValueError(
            f"pattern {shown!r} is not a valid RE2 regular expression ({reason}); "
            "backreferences and lookaround are not supported"
        ) from None
    return compiled
