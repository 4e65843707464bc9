"""Event storage (stage ②): append-only spans and annotations in a columnar engine.

May import `llmpulse.domain`, `llmpulse.store.api`, duckdb, pyarrow and orjson. Entry points:
`duckdb.DuckDBEventStore`; `columns` holds the logical schema every engine implements.
"""
