"""Database trouble surfaces as claimflow errors: transient ones say so, no traceback text."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from pipeline.errors import ConfigError, LedgerUnavailable, is_transient
from pipeline.ledger import ClaimState, Ledger

from .conftest import draft


def test_locked_sqlite_ledger_is_a_transient_error(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    Ledger(f"sqlite:///{path}").close()
    with Ledger(f"sqlite:///{path}?timeout=0.2") as ledger:
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # another process mid-write
        try:
            with pytest.raises(LedgerUnavailable, match="database is locked") as info:
                ledger.record_claim(draft("LOCK1"))
            with pytest.raises(LedgerUnavailable, match="interchange number"):
                ledger.control_numbers.next_interchange()
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert is_transient(info.value)
        assert ledger.record_claim(draft("LOCK1")).state == ClaimState.READY


def test_unreachable_postgresql_is_a_transient_error() -> None:
    with pytest.raises(LedgerUnavailable, match="cannot open") as info:
        Ledger("postgresql://claimflow:secret@127.0.0.1:1/ledger?connect_timeout=2")
    assert "secret" not in str(info.value)
    assert is_transient(info.value)


def test_not_a_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not a SQLAlchemy URL"):
        Ledger("ledger.db")
