"""Set-based claim recording (ledger/batch.py) writes what the one-at-a-time ORM path writes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline.errors import IllegalTransition
from pipeline.ledger import Cause, ClaimDraft, ClaimRecord, ClaimState, Ledger
from pipeline.ledger import claims as orm_claims
from pipeline.ledger.models import Claim, ClaimEvent, ClaimLine

from .conftest import draft

S = ClaimState
NOW = dt.datetime(2026, 11, 27, 2, 0, tzinfo=dt.UTC)


def _one_at_a_time(ledger: Ledger, drafts: Sequence[ClaimDraft]) -> list[ClaimRecord]:
    """The reference: ``claims.record_claim`` per draft (the ORM path) in one transaction."""
    with Session(ledger.engine, expire_on_commit=False) as s, s.begin():
        rows = [orm_claims.record_claim(s, d, NOW) for d in drafts]
        s.flush()
        return [orm_claims.claim_record(row) for row in rows]


def _tables(ledger: Ledger) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    with ledger.engine.connect() as conn:
        for model in (Claim, ClaimLine, ClaimEvent):
            table = model.__table__
            rows = conn.execute(select(table).order_by(table.c.id))
            out[table.name] = [tuple(row) for row in rows]
    return out


def _night(ledger: Ledger, tmp_path: Path, record: Any) -> list[list[ClaimRecord]]:
    """Two nights of drafts covering every case: new, unsent (re-held, fixed, lines changed),
    sent (rerun), corrected (new version), and a rerun of the second night."""
    first = record(
        ledger,
        [
            draft("B1", lines=3, state=S.SCRUB_FAILED, cause=Cause(code="npi", note="bad NPI")),
            draft("B2"),
            draft("B3"),
            draft("B4", lines=1),
            draft("B5", state=S.SCRUB_FAILED, cause=Cause(code="dx", note="no dx")),
        ],
    )
    era = tmp_path / "era.835"
    era.write_bytes(b"era")
    era_id = ledger.register_received(era, era.name).id
    for pcn in ("B3", "B4"):
        claim = ledger.claim(pcn)
        assert claim is not None
        ledger.transition(claim.id, S.SUBMITTED, Cause(note="sent", reference=pcn))
    ledger.transition(ledger.claim("B4").id, S.DENIED, Cause(era_id, 12, "CLP02 4"))  # type: ignore[union-attr]
    second = [
        draft("B1", lines=2, charge="80.00"),  # fixed: ready, a line dropped, charges changed
        draft("B2", lines=4, state=S.SCRUB_FAILED, cause=Cause(code="pos", note="bad POS")),
        draft("B3", charge="999.00"),  # sent: unchanged
        draft("B4", lines=2, frequency_code="7", new_version=True),  # corrected
        draft("B5", state=S.SCRUB_FAILED, cause=Cause(code="dx", note="no dx")),  # same again
        draft("B6", lines=3),
    ]
    return [first, record(ledger, second), record(ledger, second)]


@pytest.fixture
def reference(tmp_path_factory: pytest.TempPathFactory) -> Ledger:
    return Ledger(f"sqlite:///{tmp_path_factory.mktemp('ref') / 'ledger.db'}", clock=lambda: NOW)


def test_batched_claims_match_the_one_at_a_time_path(
    ledger_url: str, reference: Ledger, tmp_path: Path
) -> None:
    with Ledger(ledger_url, clock=lambda: NOW) as batched, reference:
        got = _night(batched, tmp_path, lambda led, drafts: led.record_claims(drafts))
        want = _night(reference, tmp_path, _one_at_a_time)
        assert got == want
        assert _tables(batched) == _tables(reference)
    b4 = got[1][3]
    assert (b4.version, b4.state, b4.frequency_code, len(b4.lines)) == (2, S.READY, "7", 2)
    assert [ln.line_number for ln in got[1][0].lines] == [1, 2]


def test_a_refused_correction_records_nothing_of_the_batch(ledger: Ledger) -> None:
    sent = ledger.record_claim(draft("F1"))
    ledger.transition(sent.id, S.SUBMITTED, Cause(note="sent", reference="F1"))
    with pytest.raises(IllegalTransition, match="submitted -> resubmitted"):
        ledger.record_claims([draft("F0"), draft("F1", new_version=True, frequency_code="7")])
    assert ledger.claim("F0") is None
    assert len(ledger.claim_versions("F1")) == 1


def test_the_same_pcn_twice_in_a_batch_follows_the_order(ledger: Ledger) -> None:
    held = draft("D1", state=S.SCRUB_FAILED, cause=Cause(code="npi", note="bad NPI"))
    first, second = ledger.record_claims([held, draft("D1", lines=1)])
    assert first.id == second.id
    assert (second.state, len(second.lines)) == (S.READY, 1)
    assert [t.to_state for t in ledger.transitions(first.id)] == [S.SCRUB_FAILED, S.READY]


def test_more_claims_than_one_in_list_holds(ledger: Ledger) -> None:
    # 1,200 > the 900 keys of one SQLite IN list; PostgreSQL takes them as one array.
    drafts = [draft(f"M{n:05d}", lines=1) for n in range(1200)]
    first = ledger.record_claims(drafts)
    assert [c.id for c in first] == sorted(c.id for c in first)
    again = ledger.record_claims(drafts)
    assert [(c.id, c.state, len(c.lines)) for c in again] == [(c.id, S.READY, 1) for c in first]
    assert len(ledger.latest_claims(d.patient_control_number for d in drafts)) == 1200
    assert len(ledger.event_references(c.id for c in first)) == 1200


def test_claim_ids_recorded_a_chunk_at_a_time_match_the_one_at_a_time_path(
    ledger_url: str, reference: Ledger, tmp_path: Path
) -> None:
    def by_chunks(led: Ledger, drafts: Sequence[ClaimDraft]) -> dict[str, int]:
        return led.record_claim_ids(drafts, chunk=2)  # chunks of 2: every case crosses one

    with Ledger(ledger_url, clock=lambda: NOW) as chunked, reference:
        got = _night(chunked, tmp_path, by_chunks)
        want = _night(reference, tmp_path, _one_at_a_time)
        assert got == [{c.patient_control_number: c.id for c in night} for night in want]
        assert _tables(chunked) == _tables(reference)


def test_a_pcn_again_in_a_later_chunk_follows_the_order(ledger: Ledger) -> None:
    held = draft("E1", state=S.SCRUB_FAILED, cause=Cause(code="npi", note="bad NPI"))
    ids = ledger.record_claim_ids([held, draft("E2"), draft("E1", lines=1)], chunk=2)
    claim = ledger.claim("E1")
    assert claim is not None and ids == {"E1": claim.id, "E2": ids["E2"]}
    assert (claim.state, len(claim.lines)) == (S.READY, 1)
    assert [t.to_state for t in ledger.transitions(claim.id)] == [S.SCRUB_FAILED, S.READY]


def test_a_refusal_in_a_later_chunk_records_nothing_of_the_earlier_ones(ledger: Ledger) -> None:
    sent = ledger.record_claim(draft("G1"))
    ledger.transition(sent.id, S.SUBMITTED, Cause(note="sent", reference="G1"))
    drafts = [draft("G0"), draft("G2"), draft("G1", new_version=True, frequency_code="7")]
    with pytest.raises(IllegalTransition, match="submitted -> resubmitted"):
        ledger.record_claim_ids(drafts, chunk=2)
    assert ledger.claim("G0") is None and ledger.claim("G2") is None  # one transaction
