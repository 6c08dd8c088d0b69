"""Ledger fixtures: every test runs on SQLite (temp file) and on a fresh PostgreSQL database."""

from __future__ import annotations

import datetime as dt
import io
import os
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from pipeline.ledger import ClaimDraft, ClaimRecord, Controls, Ledger, LineDraft
from pipeline.x12.writer import ControlNumbers, X12Writer

DOS = dt.date(2026, 1, 15)


def _admin(url: str) -> psycopg.Connection[tuple[object, ...]]:
    u = make_url(url)
    return psycopg.connect(
        host=u.host,
        port=u.port,
        user=u.username,
        password=u.password,
        dbname=u.database or "postgres",
        autocommit=True,
    )


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def ledger_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A URL to an empty database of each kind (PostgreSQL: CREATE DATABASE, dropped after)."""
    if request.param == "sqlite":
        # On tmpfs when there is one: the suite commits thousands of times and fsync on a
        # shared disk, not the ledger, would be what it measures.
        shm = Path("/dev/shm")
        if shm.is_dir() and os.access(shm, os.W_OK):
            with tempfile.TemporaryDirectory(dir=shm, prefix="claimflow-ledger-") as scratch:
                yield f"sqlite:///{Path(scratch) / 'ledger.db'}"
        else:
            yield f"sqlite:///{tmp_path_factory.mktemp('ledger') / 'ledger.db'}"
        return
    base: str = request.getfixturevalue("postgres_url")
    name = f"ledger_test_{uuid.uuid4().hex[:12]}"
    with _admin(base) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield make_url(base).set(database=name).render_as_string(hide_password=False)
    with _admin(base) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def ledger(ledger_url: str) -> Iterator[Ledger]:
    with Ledger(ledger_url) as opened:
        yield opened


def draft(pcn: str, *, lines: int = 2, charge: str = "100.00", **kwargs: object) -> ClaimDraft:
    """A synthetic claim of ``lines`` equal lines (REF*6R = ``<PCN>-<LX>``)."""
    each = Decimal(charge)
    items = [
        LineDraft(
            line_number=n,
            line_control_number=f"{pcn}-{n}",
            procedure_code="99213" if n == 1 else "36415",
            charge_amount=each,
            service_date=DOS,
            modifiers=("25",) if n == 1 else (),
        )
        for n in range(1, lines + 1)
    ]
    fields: dict[str, object] = {
        "patient_control_number": pcn,
        "payer_id": "CTS02",
        "charge_amount": each * lines,
        "service_date_start": DOS,
        "service_date_end": DOS,
        "lines": items,
        "payer_name": "CASCADE TRUST",
    }
    fields.update(kwargs)
    return ClaimDraft(**fields)  # type: ignore[arg-type]


def build_837(numbers: ControlNumbers, claims: Sequence[ClaimRecord]) -> tuple[bytes, Controls]:
    """A small (not IG-complete) 837 interchange carrying the claims, numbered by ``numbers``."""
    out = io.StringIO()
    writer = X12Writer(out, control_numbers=numbers, now=dt.datetime(2026, 1, 16, 2, 0))
    with writer.interchange(sender=("ZZ", "PRACTICE"), receiver=("ZZ", "CH")) as isa:
        with isa.group("HC", "PRACTICE", "CH", "005010X222A1") as gs:
            with gs.transaction("837") as st:
                st.segment("BHT", "0019", "00", "B1", "20260116", "0200", "CH")
                for claim in claims:
                    st.segment("CLM", claim.patient_control_number, str(claim.charge_amount))
    controls = Controls(isa.control_number, gs.control_number, st.control_number, "837")
    return out.getvalue().encode(), controls
