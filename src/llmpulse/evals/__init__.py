"""Evaluators and online evaluation (issue 13, items 1, 2 and 7).

Sits beside `monitors` in the flow: it reads spans through `query`, asks a judge (any
OpenAI-compatible endpoint, over httpx) or a local model, and writes verdicts back through
`ingest` as annotations, so they feed metrics, monitors and SLOs like any other annotation.
May import `domain`, `analysis`, `query`, `ingest`, `store` (protocols), `clock`; the pure
parts (templates, verdict parsing, grounding scores) are in `llmpulse.analysis.evals`.

Entry points: `judge.JudgeClient`, `evaluators.build_evaluator`, `rules.RuleService`,
`backfill.BackfillJobs`, `online.OnlineEvaluator`.
"""
