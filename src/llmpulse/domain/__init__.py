"""Shared vocabulary of llmpulse: facts, specs and errors.

Bottom layer of the flow: imports nothing from llmpulse but `clock`, and no engine or web
library. Entry points: `spans.Span`, `errors.LlmpulseError`, `ids`.
"""
