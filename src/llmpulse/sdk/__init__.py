"""The Python SDK: log predictions, evaluations and feedback, and send OTel traces.

Sits outside the flow's layers: anything may import it (the CLI's admin commands do). It
imports only `llmpulse.domain`, httpx, and lazily pandas (dataframe methods) and the
OpenTelemetry SDK (`register`), so ``import llmpulse`` stays light. It never imports
server, store, ingest or query. Entry points: `client.Client` (its
metric, segment, fairness, version-comparison and price calls live in
`analytics.AnalyticsMixin`, their JSON → DataFrame conversions in `frames`), `schema.Schema`,
`register.register`, `errors.LlmpulseApiError`.
"""
