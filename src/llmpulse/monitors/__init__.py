"""Monitors: a spec, evaluated on a schedule, drives a per-series alert state machine.

Stage ⑤ of the flow (ingest → store → query → analysis → **monitors** → alerts). May import
`llmpulse.query`, `llmpulse.analysis`, `llmpulse.domain` and `llmpulse.clock`; `server`,
`ui` and `cli` sit above it (import-linter "Layers follow the flow"). The deciding parts are
pure functions (contract "Monitor decisions are pure"): I/O belongs to the scheduler.

Entry points:

- `evaluation.Evaluation.from_verdict`: one detector verdict at one instant, with its
  evidence (value, baseline, bounds, window, segment).
- `states.step(prev, evaluation, policy) -> (state, transitions)`: the alert state machine
  ok → pending → firing → resolved, with `for`, `keep_firing_for`, no-data and error states
  and a flapping guard (METHODS.md §1.12).
- `policy.StatePolicy`: the timers and the no-data / error handling of one monitor.
"""
