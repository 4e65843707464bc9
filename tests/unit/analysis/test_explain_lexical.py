"""Offline proxies against the METHODS.md §5.6 oracles."""

from __future__ import annotations

import pytest

from llmpulse.analysis.explain.lexical import (
    chunk_scores,
    cosine,
    lcs_length,
    rouge_1,
    rouge_l,
    sentence_support,
    split_sentences,
)
from llmpulse.domain.errors import InvalidInput

REF = "the cat sat on the mat"
CAND = "the cat is on the mat"


def test_rouge_l_oracle() -> None:
    assert lcs_length(REF.split(), CAND.split()) == 5
    score = rouge_l(REF, CAND)
    assert (score.precision, score.recall, score.f1) == pytest.approx((0.8333333,) * 3, abs=1e-7)


def test_rouge_1_oracle() -> None:
    score = rouge_1(REF, CAND)
    assert (score.precision, score.recall) == pytest.approx((0.8333333,) * 2, abs=1e-7)


def test_rouge_1_clips_repeated_tokens_and_l_needs_order() -> None:
    assert rouge_1("the cat", "the the the").precision == pytest.approx(1 / 3)
    assert rouge_1("a b c", "c b a").f1 == 1.0
    assert rouge_l("a b c", "c b a").f1 == pytest.approx(1 / 3)


def test_empty_text_scores_zero() -> None:
    assert rouge_l("", "anything").f1 == 0.0


def test_cosine_oracle_and_errors() -> None:
    assert cosine([1, 2, 0], [2, 1, 1]) == pytest.approx(0.7302967, abs=1e-7)
    with pytest.raises(InvalidInput, match="zero"):
        cosine([0, 0], [1, 1])
    with pytest.raises(InvalidInput, match="length"):
        cosine([1], [1, 2])


def test_split_sentences() -> None:
    assert split_sentences("Paris is big. Is it old?  Yes!") == [
        "Paris is big.",
        "Is it old?",
        "Yes!",
    ]
    assert split_sentences("   ") == []


def test_each_sentence_is_supported_by_its_own_chunk() -> None:
    chunks = [
        "The Eiffel Tower was completed in 1889 in Paris.",
        "Bananas are rich in potassium and grow in clusters.",
        "Mount Fuji is the highest mountain in Japan.",
    ]
    answer = "Mount Fuji is the highest mountain in Japan. The tower was completed in 1889."
    support = sentence_support(answer, chunks)
    assert [s.chunks[0][0] for s in support] == [2, 0]
    assert support[0].chunks[0][1] == 1.0
    scores = chunk_scores(answer, chunks)
    assert scores[1] < scores[0]
    assert scores[1] < scores[2]
