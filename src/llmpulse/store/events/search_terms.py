"""Terms of the search index (ADR 0038): how text is cut into terms, and a query into probes.

A **term** is a maximal run of bytes of the UTF-8 ``search_text`` other than ASCII
punctuation, whitespace and control characters (every ASCII byte but ``a-z`` and ``0-9``;
the text is lower-cased already, so upper-case letters never occur). UTF-8 never puts an
ASCII byte inside a multi-byte character, so a term is whole characters: ``café`` and
``llama-guard`` give ``café``, ``llama`` and ``guard``.

A search is a substring of ``search_text`` (ADR 0025). Cut the same way, its inner terms
(with a separator on both sides inside the query) must be whole terms of a matching span;
a term with a separator only before it must start a term (prefix), only after it end one
(suffix), and a query that is one term with no separator may lie anywhere inside a term.
So every span that contains the query lies in a block holding, for each probe, a term that
the probe accepts: the index narrows the scan, ``search_text`` still decides (`probes`).
"""

from __future__ import annotations

import importlib
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

BLOCK_SECONDS = 300
"""Width of an index block: spans are indexed per (project, 5-minute slot of start time)."""
BLOCK_US = BLOCK_SECONDS * 1_000_000
BLOCK_SQL = (
    f"((epoch_us(start_time) - ((epoch_us(start_time) % {BLOCK_US}) + {BLOCK_US}) % {BLOCK_US})"
    f" // {BLOCK_US})"
)
"""SQL: the block of a span row, floored in integers (exact before 1970 and at year 1)."""
SPAN_HASH_SQL = "hash(trace_id, span_id, start_time)"
"""SQL: what the index keeps of a span it names by row id (ADR 0056), to check that the row
still holds it: the hash of what tells stored spans apart (`dedupe`; the project is checked
apart)."""
MAX_PROBES = 6
"""The most selective probes of a query that are looked up (any subset narrows correctly)."""

_SEPARATORS = bytes(b for b in range(128) if not (0x30 <= b <= 0x39 or 0x61 <= b <= 0x7A))
_TO_SPACE = bytes.maketrans(_SEPARATORS, b" " * len(_SEPARATORS))
_RUN = re.compile(rb"[^ ]+")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def lowered(text: str, query: Callable[[str, list[Any]], list[tuple[Any, ...]]]) -> str:
    """``text`` lower-cased as the search compares, DuckDB's ``lower()``: in Python when it
    is ASCII (the two agree there), else asked of DuckDB through ``query`` (they differ for
    a few letters, such as a final capital sigma)."""
    if text.isascii():
        return text.lower()
    ((low,),) = query("SELECT lower(?)", [text])
    return str(low)


def terms_of(text: str) -> set[str]:
    """The distinct terms of a (lower-cased) text."""
    return {t.decode() for t in term_bytes(text)}


def term_bytes(text: str) -> set[bytes]:
    """The distinct terms of a (lower-cased) text as UTF-8 bytes (decode once per block)."""
    return set(text.encode().translate(_TO_SPACE).split())


def _native() -> ModuleType | None:
    try:
        return importlib.import_module("llmpulse.store.events._terms")
    except ImportError:  # only where the package was installed without a compiler
        return None


NATIVE = _native()
"""The C extension ``_terms`` (ADR 0061), or None where it is not built (`tally` then runs
`tally_python`, the same result ~7 times slower; a test asserts it is built here)."""


def tally(texts: Sequence[str | None]) -> tuple[list[bytes], list[int], list[int]]:
    """The distinct terms of a block's texts (None is empty) in order of first occurrence,
    how many of the texts hold each, and the index of the last text holding it."""
    if NATIVE is not None:
        terms, spans, last = NATIVE.tally(texts)
        return terms, spans, last
    return tally_python(texts)


def tally_python(texts: Sequence[str | None]) -> tuple[list[bytes], list[int], list[int]]:
    """`tally` in Python: a bytes object and three hash table operations per occurrence."""
    spans: Counter[bytes] = Counter()
    last: dict[bytes, int] = {}
    for at, text in enumerate(texts):
        held = dict.fromkeys((text or "").encode().translate(_TO_SPACE).split(), at)
        spans.update(held.keys())  # a view, not a mapping: counted in C
        last.update(held)
    terms = list(spans)
    return terms, [spans[t] for t in terms], [last[t] for t in terms]


@dataclass(frozen=True, slots=True)
class Probe:
    """One term of a query and how a stored term must relate to it."""

    text: str
    match: str  # "exact", "prefix", "suffix" or "contains"

    def sql(self) -> str:
        """SQL predicate over ``term`` with one ``?`` for `text`."""
        return {
            "exact": "term = ?",
            "prefix": "starts_with(term, ?)",
            "suffix": "suffix(term, ?)",
            "contains": "contains(term, ?)",
        }[self.match]


_RANK = {"exact": 0, "prefix": 1, "suffix": 1, "contains": 2}


def probes(lowered: str) -> list[Probe]:
    """The probes of a lower-cased query, most selective first (at most `MAX_PROBES`).

    Empty when the query has no term (only punctuation or spaces): nothing narrows the scan.
    """
    data = lowered.encode().translate(_TO_SPACE)
    found = {
        Probe(
            m.group().decode(),
            {
                (True, True): "exact",
                (True, False): "prefix",
                (False, True): "suffix",
                (False, False): "contains",
            }[(m.start() > 0, m.end() < len(data))],
        )
        for m in _RUN.finditer(data)
    }
    ranked = sorted(found, key=lambda p: (_RANK[p.match], -len(p.text), p.text))
    return ranked[:MAX_PROBES]


def block_of(at_us: int) -> int:
    """The block of a start time given in microseconds since the epoch."""
    return at_us // BLOCK_US


def block_start(block: int) -> datetime:
    """The first instant of a block (naive UTC, as stored)."""
    return (_EPOCH + timedelta(microseconds=block * BLOCK_US)).replace(tzinfo=None)


def ranges(blocks: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted blocks merged into runs ``(first, last)`` of consecutive blocks."""
    out: list[tuple[int, int]] = []
    for b in sorted(set(blocks)):
        if out and out[-1][1] == b - 1:
            out[-1] = (out[-1][0], b)
        else:
            out.append((b, b))
    return out


def ranges_sql(runs: list[tuple[int, int]]) -> tuple[str, list[datetime]]:
    """SQL restricting ``start_time`` to the runs of blocks (zonemaps prune it), and params."""
    parts: list[str] = []
    params: list[datetime] = []
    for first, last in runs:
        parts.append("(start_time >= ? AND start_time < ?)")
        params.extend((block_start(first), block_start(last + 1)))
    return "(" + " OR ".join(parts) + ")" if parts else "FALSE", params
