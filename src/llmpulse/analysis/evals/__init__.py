"""Pure parts of the evaluators (issue 13, item 1): judge templates, verdict parsing with rails
enforcement, and the offline grounding scores. Stage ④: no I/O; may import `llmpulse.domain`
and `llmpulse.analysis`. The judge client and the local embedding model live in `llmpulse.evals`.

Entry points: `templates.builtin`, `verdicts.parse_verdict`, `grounding.lexical_grounding`,
`grounding.similarity_grounding`.
"""
