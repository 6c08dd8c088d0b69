"""Alembic runs this: migrate the connection :func:`pipeline.ledger.migrate.upgrade` hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from pipeline.ledger.models import Base


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things: later migrations rebuild tables in batch mode.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("the ledger migrations run only through pipeline.ledger.migrate.upgrade")
run_migrations(connection)
