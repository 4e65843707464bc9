"""The web UI: server-rendered pages over the same query service as REST; assets served locally.

Layer: beside `demo`, under `server` (the server mounts the UI, never the reverse). May import
`llmpulse.query`, `llmpulse.store.api` (logical query objects), `llmpulse.analysis` (result
types) and `llmpulse.domain`; must
not import `llmpulse.server`. Templates and static files ship inside this package.

Entry point: `pages.mount_ui(app)`.
"""
