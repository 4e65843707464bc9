"""Planted-chunk recovery of RAG attribution against a local OpenAI-compatible server (#13).

Each planted case has five chunks; the answer copies six consecutive words of one, and every
other chunk holds three of those words. ContextCite scores the answer over HTTP with prompt
log-probs from the test suite's fake server (a deterministic cache language model); the lexical
method runs offline. Prints how often the copied chunk ranks first, and the time taken.

    .venv/bin/python benchmarks/explain_attribution.py --cases 200 --ablations 32
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from fakes.openai_compat import OpenAICompatFake
from integration.explain.rag_cases import planted_case
from llmpulse.explain.endpoint import LogprobsEndpoint
from llmpulse.explain.rag import RagExplainer
from llmpulse.explain.rag_embedding import embedding_attribution


async def measure(url: str, cases: int, ablations: int, seed: int) -> tuple[int, int, int, float]:
    """(ContextCite hits, lexical hits, embedding hits, seconds)."""
    endpoint = LogprobsEndpoint(url, "cache-lm")
    explainer = RagExplainer(records=None, endpoint=endpoint)  # type: ignore[arg-type]
    rng = random.Random(seed)
    cc = lex = emb = 0
    start = time.perf_counter()
    try:
        for _ in range(cases):
            case, key = planted_case(rng)
            cc += (await explainer.contextcite(case, ablations))["chunks"][0]["index"] == key
            lex += explainer.lexical(case)["chunks"][0]["index"] == key
            by_embedding = await embedding_attribution(case, endpoint)
            emb += by_embedding["chunks"][0]["index"] == key
    finally:
        await endpoint.aclose()
    return cc, lex, emb, time.perf_counter() - start


def main() -> None:
    """Run and print the rates."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--ablations", type=int, default=32)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    fake = OpenAICompatFake()
    with fake.receiver:
        cc, lex, emb, secs = asyncio.run(measure(fake.url, args.cases, args.ablations, args.seed))
    n = args.cases
    print(f"contextcite {cc}/{n}  lexical {lex}/{n}  embedding {emb}/{n}  {secs:.1f} s")


if __name__ == "__main__":
    main()
