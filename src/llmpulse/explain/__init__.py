"""Explanation services: records, structured-decision and RAG explanations, "why" answers.

Stage beside ``monitors`` and ``governance`` in the flow: reads spans through ``query``,
computes with the pure ``analysis.explain`` methods, keeps immutable records in ``store``
(``store.state.explanations``) and calls OpenAI-compatible endpoints for log-probabilities
over httpx. May import ``query``, ``store``, ``analysis``, ``domain``; never ``server``, ``ui``
or ``cli``. Entry points: `records.ExplanationRecords`, `structured.StructuredExplainer`,
`rag.RagExplainer`, `why.why_answer`.
"""
