"""Stage ③ of the flow: the read side (span lists, trace trees, project summaries).

May import `llmpulse.store.api` (protocols and logical queries) and `llmpulse.domain`; never an
engine. Entry point: `service.QueryService`.
"""
