"""Empty database -> head on SQLite and PostgreSQL; the migrations match the models."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from pipeline.ledger import Ledger, open_ledger
from pipeline.ledger.engine import make_engine
from pipeline.ledger.migrate import (
    alembic_config,
    current_revision,
    head_revision,
    new_revision,
    upgrade,
)
from pipeline.ledger.models import Base
from pipeline.settings import Settings


def test_empty_database_upgrades_to_head(ledger_url: str) -> None:
    engine = make_engine(ledger_url)
    assert current_revision(engine) is None
    with Ledger(ledger_url) as ledger:
        assert current_revision(ledger.engine) == head_revision()
        tables = set(inspect(ledger.engine).get_table_names())
    assert {"files", "claims", "claim_events", "outbox", "control_counters"} <= tables
    engine.dispose()


def test_migrated_schema_matches_the_models(ledger: Ledger) -> None:
    with ledger.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = compare_metadata(context, Base.metadata)
    assert diffs == []


def test_reopening_is_a_no_op_and_keeps_data(ledger_url: str) -> None:
    with Ledger(ledger_url) as ledger:
        number = ledger.control_numbers.next_interchange()
    with Ledger(ledger_url) as ledger:
        upgrade(ledger.engine)
        assert ledger.control_numbers.next_interchange() == number + 1


def test_two_processes_opening_an_empty_database_at_once(ledger_url: str) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def open_it() -> None:
        barrier.wait()
        try:
            Ledger(ledger_url).close()
        except BaseException as exc:  # reported below, not swallowed
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    engine = make_engine(ledger_url)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_new_revision_tool_finds_no_model_drift(tmp_path: Path) -> None:
    written = new_revision("nothing changed", version_path=tmp_path)
    assert written.parent == tmp_path
    assert written.name.startswith(f"{int(head_revision() or 0) + 1:04d}_")
    text = written.read_text()
    assert f"down_revision: str | None = {head_revision()!r}" in text
    body = text.split("def upgrade() -> None:", 1)[1].split("def downgrade", 1)[0]
    assert "op." not in body


def test_default_settings_url_creates_the_ledger_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CLAIMFLOW_DATABASE_URL", raising=False)
    monkeypatch.delenv("CLAIMFLOW_HOME", raising=False)
    url = Settings().ledger_url
    with open_ledger(url) as ledger:
        ledger.control_numbers.next_interchange()
    assert (tmp_path / ".claimflow" / "ledger.db").is_file()


def test_downgrade_to_base_and_back(ledger: Ledger) -> None:
    with ledger.engine.begin() as connection:
        command.downgrade(alembic_config(connection), "base")
    assert set(inspect(ledger.engine).get_table_names()) <= {"alembic_version"}
    upgrade(ledger.engine)
    assert current_revision(ledger.engine) == head_revision()
    assert ledger.control_numbers.next_transaction() == 1
