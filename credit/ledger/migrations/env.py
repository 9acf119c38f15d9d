"""Alembic environment for the ledger: always run in code with a connection passed in
``config.attributes["connection"]`` (see ``credit.ledger.migrate``); no alembic.ini."""

from __future__ import annotations

from alembic import context

from credit.ledger.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("ledger migrations run through credit.ledger.migrate with a connection")
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
