"""State storage (stage ②): mutable, transactional state through SQLAlchemy Core.

May import `llmpulse.domain`, `llmpulse.store.api`, sqlalchemy and alembic. Entry point:
`sql.SqlStateStore` (SQLite today, PostgreSQL through the same code).
"""
