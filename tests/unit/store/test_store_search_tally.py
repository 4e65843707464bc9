"""The indexer's tally of a block's terms (ADR 0061): the C extension and Python agree.

The oracle is `term_bytes`, the cut of a text into terms that the search's probes use: for
each distinct term of a block, the tally must count exactly the texts whose `term_bytes`
hold it and name the last of them.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmpulse.store.events import search_terms
from llmpulse.store.events.search_terms import tally, tally_python, term_bytes

Tally = tuple[list[bytes], list[int], list[int]]


def _oracle(texts: list[str | None]) -> Tally:
    """Per distinct term in order of first occurrence: the texts holding it, the last one."""
    holders: dict[bytes, list[int]] = {}
    for at, text in enumerate(texts):
        words = term_bytes(text or "")
        seen_in_order = dict.fromkeys(
            (text or "").encode().translate(search_terms._TO_SPACE).split()
        )
        assert set(seen_in_order) == words
        for w in seen_in_order:
            holders.setdefault(w, []).append(at)
    terms = list(holders)
    return terms, [len(holders[t]) for t in terms], [holders[t][-1] for t in terms]


def test_the_extension_is_built() -> None:
    assert search_terms.NATIVE is not None, "the _terms extension did not build (scripts/setup)"


def test_a_block_by_hand() -> None:
    texts: list[str | None] = [
        "hello world, hello",
        None,
        "café llama-guard/v2.1 world",
        "",
        "UPPER is a separator: x",
        "world",
    ]
    words = ["hello", "world", "café", "llama", "guard", "v2", "1", "is", "a", "separator", "x"]
    expected = (
        [w.encode() for w in words],
        [1, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1],
        [0, 5, 2, 2, 2, 2, 2, 4, 4, 4, 4],
    )
    assert tally_python(texts) == expected
    assert tally(texts) == expected


def test_an_empty_block_and_texts_with_no_term() -> None:
    for texts in ([], [None], ["", " ,;:!?\t\n\x00\x7f"], ["ABC XYZ"]):
        assert tally(texts) == ([], [], [])
        assert tally_python(texts) == ([], [], [])


def test_many_distinct_terms_grow_the_table() -> None:
    """More terms than the C table's first 512 entries, in several texts."""
    texts: list[str | None] = [" ".join(f"t{k}x{j}" for j in range(700)) for k in range(3)]
    texts.append(" ".join(f"t{k}x{j}" for k in range(3) for j in range(0, 700, 7)))
    got = tally(texts)
    assert got == tally_python(texts) == _oracle(texts)
    assert len(got[0]) == 2100
    assert sum(n == 2 for n in got[1]) == 300  # every 7th term of each text again in the last


def test_anything_but_text_is_refused_by_name() -> None:
    if search_terms.NATIVE is None:
        pytest.fail("the _terms extension did not build")
    with pytest.raises(TypeError, match="text 1 is int"):
        search_terms.NATIVE.tally(["a", 3])


_ALPHABET = st.sampled_from(
    [*"abcxyz0189 -_.,/\t\n\x00\x7fABZ", "é", "ß", "ς", "Σ", "日", "本", "\U0001f600", "\x80"]
)
_TEXT = st.one_of(st.none(), st.text(_ALPHABET, max_size=60))


@settings(max_examples=300, deadline=None)
@given(st.lists(_TEXT, max_size=12))
def test_the_extension_and_python_give_the_oracle(texts: list[str | None]) -> None:
    expected = _oracle(texts)
    assert tally_python(texts) == expected
    assert tally(texts) == expected
