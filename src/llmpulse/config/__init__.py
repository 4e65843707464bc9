"""Configuration as code: monitors, alert routes, receivers and silences as YAML manifests.

Sits above `llmpulse.alerts` and `llmpulse.monitors` (import-linter "Layers follow the flow")
and below `server`, `ui` and `cli`, which call it; it reaches storage only through
`llmpulse.store` (`ConfigObjectStore`). Entry points:

- `kinds.KINDS`: the kind registry, ``(apiVersion, kind) -> KindHandler``; a new kind is one
  handler module and one line there.
- `bundle.parse_documents`: multi-document YAML/JSON to validated `Resource`s, each error
  naming its document and field (``documents[1].spec.window``).
- `plan.plan`: the pure diff of desired against current state (create, update, delete).
- `service.ConfigService`: apply, export, CRUD, silences, receiver tests and the audit log;
  `list_monitors` and `routing_config` for the scheduler.
"""
