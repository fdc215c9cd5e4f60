"""Alembic environment: runs migrations on the connection that allpath hands over."""

from __future__ import annotations

from alembic import context

from allpath.storage.tables import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - allpath always passes a connection
    raise RuntimeError("run migrations through allpath.storage.db.migrate")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
