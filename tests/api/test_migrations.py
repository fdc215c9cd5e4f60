"""The Alembic migrations build exactly the schema the models describe, on both backends, and go back down."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from allpath.storage import tables as t
from allpath.storage.db import make_engine, migrate


def test_migrations_build_the_models_schema(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate(engine)
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), t.Base.metadata)
            indexes = {index["name"] for index in inspect(connection).get_indexes("login_attempts")}
        assert differences == []
        assert "ix_login_attempts_client" in indexes  # the newest migration ran
    finally:
        engine.dispose()
