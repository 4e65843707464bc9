"""Stage ⑦: HTTP (REST under /api/v1, OTLP/HTTP at /v1/traces, the UI) in one process.

May import every lower layer; handlers stay thin and call services. Entry point:
`app.create_app(settings)`.
"""
