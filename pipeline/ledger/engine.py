"""Engines for the ledger: SQLite with real write locks, PostgreSQL through psycopg 3."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

from pipeline.errors import ConfigError

__all__ = ["make_engine"]

# Seconds a SQLite writer waits for another process's transaction before giving up.
_SQLITE_BUSY_TIMEOUT = 60


def make_engine(url: str | URL) -> Engine:
    """An engine for ``url``; ``postgresql://`` means psycopg 3 (the driver we ship)."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"ledger database URL is not a SQLAlchemy URL: {exc}") from exc
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    try:
        return create_engine(parsed, pool_pre_ping=True)
    except ModuleNotFoundError as exc:  # psycopg is the `postgres` extra
        raise ConfigError(
            f"ledger database {parsed.get_backend_name()} needs the {exc.name} driver: "
            "pip install 'claimflow[postgres]'"
        ) from exc


def _sqlite_engine(url: URL) -> Engine:
    database = url.database or ""
    memory = database in ("", ":memory:")
    kwargs: dict[str, Any] = {}
    if memory:
        # One shared connection, or every checkout would see its own empty database.
        kwargs["poolclass"] = StaticPool
    else:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: the driver leaves transactions to us, so BEGIN below is ours.
    connect_args: dict[str, Any] = {"isolation_level": None}
    if "timeout" not in url.query:  # ``?timeout=`` in the URL wins (tests, slow disks)
        connect_args["timeout"] = _SQLITE_BUSY_TIMEOUT
    if memory:
        connect_args["check_same_thread"] = False
    engine = create_engine(url, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE takes the write lock up front: two processes never both read, then both
        # fail to upgrade to a write lock (SQLITE_BUSY without waiting).
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
