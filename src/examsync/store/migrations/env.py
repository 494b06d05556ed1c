"""Alembic environment: the URL and connection come from examsync, never from an ini file."""

from __future__ import annotations

from alembic import context

from examsync.store.tables import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `examsync migrate` (examsync.store.migrate.upgrade)")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
