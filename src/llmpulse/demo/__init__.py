"""Deterministic demo data: a week of RAG-application traffic with planted incidents.

Sits beside `ui` above the ingest/query layers; used by ``llmpulse serve --demo`` and by
tests. Pure: builds domain `Span`s and `Annotation`s from a seeded ``random.Random`` and
an explicit end instant; it writes nothing and imports only `llmpulse.domain`. Entry
points: `generator.generate_demo`, `generator.estimate_demo`.
"""
