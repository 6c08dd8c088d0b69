"""Alembic without ``alembic.ini``: the ledger upgrades its own database on open.

Two processes opening an empty PostgreSQL ledger at once are serialised by an advisory lock;
SQLite is serialised by its ``BEGIN IMMEDIATE`` write lock (see :mod:`pipeline.ledger.engine`).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

__all__ = [
    "MIGRATIONS",
    "alembic_config",
    "current_revision",
    "head_revision",
    "new_revision",
    "upgrade",
]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Any constant works; it only has to be the same for every claimflow process.
_PG_LOCK_KEY = 0x636C_6D66


def alembic_config(connection: Connection | None = None) -> Config:
    """A programmatic Alembic config pointing at the migrations shipped in this package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate ``engine``'s database to ``revision`` in one transaction."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        command.upgrade(alembic_config(connection), revision)


def new_revision(message: str, *, version_path: Path | None = None) -> Path:
    """Autogenerate the next migration from the models against a scratch SQLite at head.

    Developer tool (``python -m pipeline.ledger.migrate "add payer column"``); review the file
    it writes — and check PostgreSQL-only details by hand — before committing it.
    """
    from pipeline.ledger.engine import make_engine

    head = head_revision()
    number = f"{int(head or 0) + 1:04d}"
    with tempfile.TemporaryDirectory() as scratch:
        engine = make_engine(f"sqlite:///{scratch}/head.db")
        upgrade(engine)
        with engine.begin() as connection:
            config = alembic_config(connection)
            if version_path is not None:
                config.set_main_option(
                    "version_locations",
                    os.pathsep.join([str(MIGRATIONS / "versions"), str(version_path)]),
                )
            script = command.revision(
                config,
                message=message,
                autogenerate=True,
                rev_id=number,
                version_path=str(version_path) if version_path is not None else None,
            )
        engine.dispose()
    if script is None or isinstance(script, list):
        raise RuntimeError("alembic wrote no single revision")
    return Path(script.path)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit('usage: python -m pipeline.ledger.migrate "what the migration does"')
    print(new_revision(sys.argv[1]))
