"""Nearest known names for an unknown one: "did you mean …" in every 4xx about a name.

An unknown key, version, field or name never gets an empty success: the answer is a 4xx
whose message names the closest known spellings (difflib's ratio, the same measure Python's
own "did you mean" uses) and, when there are few, all of them.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from llmpulse.domain.errors import FieldError, InvalidInput, NotFound

MAX_LISTED = 12


def _score(name: str, choice: str) -> float:
    """Similarity of ``name`` to ``choice`` or to its last dotted part (``region`` for
    ``metadata.region``), any case."""
    a = name.lower()
    parts = {choice.lower(), choice.rsplit(".", 1)[-1].lower()}
    return max(difflib.SequenceMatcher(None, a, p).ratio() for p in parts)


def nearest(name: str, known: Iterable[str], n: int = 3, cutoff: float = 0.6) -> list[str]:
    """Up to ``n`` known names closest to ``name``, closest first."""
    scored = sorted(((_score(name, c), c) for c in set(known)), key=lambda t: (-t[0], t[1]))
    return [c for score, c in scored[:n] if score >= cutoff]


def hint(name: str, known: Iterable[str]) -> str:
    """``did you mean 'x'? known: a, b, c`` (or ``none are known yet``)."""
    choices = sorted(set(known))
    if not choices:
        return "none are known yet"
    parts = []
    close = nearest(name, choices)
    if close:
        parts.append("did you mean " + " or ".join(repr(c) for c in close) + "?")
    if len(choices) <= MAX_LISTED:
        parts.append("known: " + ", ".join(choices))
    else:
        parts.append(f"{len(choices)} are known")
    return " ".join(parts)


def unknown(what: str, name: str, known: Iterable[str], path: str) -> InvalidInput:
    """A 400 for an unknown ``what`` named in field ``path``, with the nearest names."""
    text = hint(name, known)
    return InvalidInput(
        f"unknown {what} {name!r}; {text}", [FieldError(path, f"unknown {name!r}; {text}")]
    )


def not_found(what: str, name: str, known: Iterable[str]) -> NotFound:
    """A 404 for a ``what`` named in the path that does not exist, with the nearest names."""
    return NotFound(f"{what} {name!r} does not exist; {hint(name, known)}")
