"""Alembic's environment for the history store: always run on the connection the store opened."""

from __future__ import annotations

from alembic import context

from services.history.schema import metadata

connection = context.config.attributes["connection"]
# batch mode: SQLite cannot ALTER most things; Alembic rebuilds the table there instead
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
