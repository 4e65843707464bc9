"""Stage ② of the flow: storage, the only package that speaks SQL.

May import `llmpulse.domain`, `llmpulse.clock`, duckdb, pyarrow, orjson, sqlalchemy and alembic;
nothing above it (ingest, query, server, ...). Entry points: `api.EventStore`,
`api.StateStore`, `events.duckdb.DuckDBEventStore`, `state.sql.SqlStateStore`,
`datadir.open_stores`.
"""
