"""all-MiniLM-L6-v2 in numpy against the model card's published similarities."""

from __future__ import annotations

import numpy as np
import pytest
from planted_grounding import cases

from llmpulse.analysis.evals.grounding import answer_sentences, auc, similarity_grounding
from llmpulse.evals.embedding import embeddings_available, load_embedder

pytestmark = pytest.mark.skipif(
    not embeddings_available(), reason="needs the embeddings extra (scripts/setup installs it)"
)


def test_sentence_transformers_quickstart_similarities() -> None:
    # sentence-transformers' quickstart prints, for this model:
    # [[1.0000, 0.6660, 0.1046], [0.6660, 1.0000, 0.1411], [0.1046, 0.1411, 1.0000]]
    model = load_embedder()
    assert model is not None
    v = np.array(model.embed(["The weather is lovely today.", "It's so sunny outside!",
                              "He drove to the stadium."]))  # fmt: skip
    sims = v @ v.T
    expected = np.array([[1.0, 0.6660, 0.1046], [0.6660, 1.0, 0.1411], [0.1046, 0.1411, 1.0]])
    assert np.allclose(sims, expected, atol=6e-4)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)


def test_padding_does_not_change_a_vector() -> None:
    model = load_embedder()
    assert model is not None
    alone = np.array(model.embed(["Short."]))
    padded = np.array(
        model.embed(["Short.", "A much longer sentence that forces padding of the first."])
    )
    assert np.allclose(alone[0], padded[0], atol=1e-5)


def test_similarity_separates_invented_answers() -> None:
    model = load_embedder()
    assert model is not None
    sample = [c for c in cases(48) if c.kind in ("paraphrase", "invented")]
    scores = []
    for c in sample:
        sentences = answer_sentences(c.answer)
        v = model.embed([*sentences, *c.context])
        scores.append((similarity_grounding(v[: len(sentences)], v[len(sentences) :]), c))
    pos = [s for s, c in scores if c.grounded]
    neg = [s for s, c in scores if not c.grounded]
    assert auc(pos, neg) >= 0.95
