"""Storage: SQLAlchemy 2 tables, the repository and Alembic migrations (SQLite or PostgreSQL)."""
