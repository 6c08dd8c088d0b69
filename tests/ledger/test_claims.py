"""Claim versions, lines, lifecycle transitions (table, causes, idempotency) and queries."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from pipeline.errors import IllegalTransition
from pipeline.ledger import Cause, ClaimState, Ledger, LineDraft

from .conftest import DOS, draft

S = ClaimState


def _file(ledger: Ledger, tmp_path: Path, name: str) -> int:
    path = tmp_path / name
    path.write_bytes(name.encode())
    return ledger.register_received(path, name).id


def _submit(ledger: Ledger, pcn: str) -> int:
    claim = ledger.record_claim(draft(pcn))
    ledger.transition(claim.id, S.SUBMITTED, Cause(note="test submission", reference=pcn))
    return claim.id


def test_claim_with_lines_round_trips_exactly(ledger: Ledger) -> None:
    line = LineDraft(
        line_number=1,
        line_control_number="BIG-1",
        procedure_code="99215",
        charge_amount=Decimal("1234567890.12"),
        service_date=DOS,
        units=Decimal("1.5"),
        modifiers=("25", "59", "GT", "XS"),
        place_of_service="11",
    )
    big = dataclasses.replace(
        draft("BIG", lines=0), lines=[line], charge_amount=line.charge_amount, patient_id="P001"
    )
    claim = ledger.record_claim(big)
    again = ledger.claim("BIG")
    assert again == claim
    assert claim.charge_amount == Decimal("1234567890.12")
    assert isinstance(claim.charge_amount, Decimal)
    (stored,) = ledger.claim_lines(claim.id)
    assert stored.modifiers == ("25", "59", "GT", "XS")
    assert (stored.units, stored.charge_amount) == (Decimal("1.5"), Decimal("1234567890.12"))
    assert stored.place_of_service == "11"
    assert claim.created_at.tzinfo is not None and claim.created_at.utcoffset() == dt.timedelta(0)
    assert (claim.version, claim.state, claim.patient_id) == (1, S.READY, "P001")


def test_unsent_claim_is_updated_in_place(ledger: Ledger) -> None:
    failed = ledger.record_claim(
        draft("UPD1", lines=3, state=S.SCRUB_FAILED, cause=Cause(code="npi", note="bad NPI"))
    )
    assert failed.state == S.SCRUB_FAILED
    # Rerun with the same problem: nothing new.
    ledger.record_claim(
        draft("UPD1", lines=3, state=S.SCRUB_FAILED, cause=Cause(code="npi", note="bad NPI"))
    )
    fixed = ledger.record_claim(draft("UPD1", lines=2, charge="80.00"))
    assert (fixed.id, fixed.version, fixed.state) == (failed.id, 1, S.READY)
    assert [line.line_number for line in fixed.lines] == [1, 2]
    assert fixed.charge_amount == Decimal("160.00")
    assert [t.to_state for t in ledger.transitions(fixed.id)] == [S.SCRUB_FAILED, S.READY]


def test_sent_claim_is_not_changed_by_a_rerun(ledger: Ledger) -> None:
    claim_id = _submit(ledger, "RERUN1")
    same = ledger.record_claim(draft("RERUN1", charge="999.00"))
    assert (same.id, same.state, same.charge_amount) == (claim_id, S.SUBMITTED, Decimal("200.00"))
    assert len(ledger.claim_versions("RERUN1")) == 1


def test_corrected_claim_is_a_new_linked_version(ledger: Ledger, tmp_path: Path) -> None:
    claim_id = _submit(ledger, "CORR1")
    era = _file(ledger, tmp_path, "era.835")
    ledger.transition(
        claim_id, S.DENIED, Cause(file_id=era, segment_number=14, code="16"),
        payer_claim_control_number="ICN777",
    )  # fmt: skip
    corrected = draft("CORR1", frequency_code="7", new_version=True)
    v2 = ledger.record_claim(corrected)
    assert (v2.version, v2.replaces_claim_id, v2.frequency_code) == (2, claim_id, "7")
    assert v2.state == S.READY
    assert ledger.claim_by_id(claim_id).state == S.RESUBMITTED
    assert ledger.claim_by_id(claim_id).payer_claim_control_number == "ICN777"
    assert ledger.claim("CORR1") == v2
    assert ledger.claim("CORR1", version=1) == ledger.claim_by_id(claim_id)
    # Rerunning the correction updates version 2, it does not make version 3.
    assert ledger.record_claim(corrected).id == v2.id
    assert [c.version for c in ledger.claim_versions("CORR1")] == [1, 2]


def test_new_version_refused_while_the_old_one_is_in_flight(ledger: Ledger) -> None:
    _submit(ledger, "FLIGHT")
    with pytest.raises(IllegalTransition, match="submitted -> resubmitted"):
        ledger.record_claim(draft("FLIGHT", new_version=True, frequency_code="7"))
    assert len(ledger.claim_versions("FLIGHT")) == 1


def test_design_lifecycle_path_is_recorded_with_causes(ledger: Ledger, tmp_path: Path) -> None:
    claim_id = _submit(ledger, "PATH1")
    ack = _file(ledger, tmp_path, "ack.999")
    ca = _file(ledger, tmp_path, "ca.277")
    era = _file(ledger, tmp_path, "era.835")
    steps = [
        (S.ACCEPTED, Cause(file_id=ack, segment_number=6, code="A")),
        (S.ACCEPTED, Cause(file_id=ca, segment_number=22, code="A1:20")),
        (S.PARTIALLY_PAID, Cause(file_id=era, segment_number=31, code="1", amount=Decimal("61.5"))),
        (S.APPEAL_DUE, Cause(file_id=era, segment_number=31, code="45")),
        (S.APPEALED, Cause(reference="appeal-1", note="letter sent")),
        (S.APPEALED, Cause(reference="appeal-2", note="second level")),
        (S.CLOSED, Cause(note="upheld, closed by billing")),
    ]
    for target, cause in steps:
        assert not ledger.transition(claim_id, target, cause).replayed
    history = ledger.transitions(claim_id)
    assert [t.to_state for t in history] == [S.READY, S.SUBMITTED] + [s for s, _ in steps]
    assert history[4].from_state == S.ACCEPTED
    assert (history[4].file_id, history[4].segment_number, history[4].amount) == (
        era, 31, Decimal("61.50"),
    )  # fmt: skip
    assert all(t.at.utcoffset() == dt.timedelta(0) for t in history)
    assert ledger.claim_by_id(claim_id).state == S.CLOSED


@pytest.mark.parametrize(
    ("path", "illegal"),
    [
        ([], S.PAID),  # ready -> paid: never sent
        ([S.SUBMITTED], S.APPEALED),
        ([S.SUBMITTED, S.REJECTED], S.APPEAL_DUE),  # rejected claims are never appealed
        ([S.SUBMITTED, S.ACCEPTED, S.PAID, S.CLOSED], S.SUBMITTED),
        ([S.SUBMITTED], S.SUBMITTED),
    ],
)
def test_illegal_transitions_are_refused(
    ledger: Ledger, path: list[ClaimState], illegal: ClaimState
) -> None:
    claim = ledger.record_claim(draft("ILL"))
    for n, state in enumerate(path):
        ledger.transition(claim.id, state, Cause(reference=f"step{n}"))
    before = ledger.transitions(claim.id)
    with pytest.raises(IllegalTransition, match=f"-> {illegal.value} is not allowed"):
        ledger.transition(claim.id, illegal, Cause(reference="bad"))
    assert ledger.transitions(claim.id) == before
    assert ledger.claim_by_id(claim.id).state == (path[-1] if path else S.READY)


def test_replaying_the_same_event_is_a_no_op(ledger: Ledger, tmp_path: Path) -> None:
    claim_id = _submit(ledger, "IDEM1")
    era = _file(ledger, tmp_path, "era.835")
    first = ledger.transition(claim_id, S.PAID, Cause(file_id=era, segment_number=40, code="1"))
    ledger.transition(claim_id, S.CLOSED, Cause(note="balanced"))
    # The nightly run is rerun: the same 835 CLP again, after the claim moved on.
    again = ledger.transition(claim_id, S.PAID, Cause(file_id=era, segment_number=40, code="1"))
    assert again.replayed and again.id == first.id
    assert ledger.claim_by_id(claim_id).state == S.CLOSED
    # A cause without file or reference replays when the latest event says the same.
    assert ledger.transition(claim_id, S.CLOSED, Cause(note="balanced")).replayed
    assert len(ledger.transitions(claim_id)) == 4


def test_reversal_then_correction_from_one_835(ledger: Ledger, tmp_path: Path) -> None:
    claim_id = _submit(ledger, "REV1")
    first = _file(ledger, tmp_path, "era1.835")
    second = _file(ledger, tmp_path, "era2.835")
    ledger.transition(claim_id, S.PAID, Cause(file_id=first, segment_number=20, code="1"))
    ledger.transition(claim_id, S.REVERSED, Cause(file_id=second, segment_number=20, code="22"))
    ledger.transition(claim_id, S.PARTIALLY_PAID, Cause(file_id=second, segment_number=35))
    assert ledger.claim_by_id(claim_id).state == S.PARTIALLY_PAID
    assert [t.segment_number for t in ledger.transitions(claim_id)][-3:] == [20, 20, 35]


def test_queries_by_state_and_payer(ledger: Ledger) -> None:
    ready = ledger.record_claim(draft("Q1"))
    other = ledger.record_claim(draft("Q2", payer_id="NWH01"))
    failed = ledger.record_claim(draft("Q3", state=S.SCRUB_FAILED))
    sent = _submit(ledger, "Q4")
    assert [c.id for c in ledger.claims_by_state(S.READY)] == [ready.id, other.id]
    assert [c.id for c in ledger.claims_by_state(S.READY, payer_id="NWH01")] == [other.id]
    assert {c.id for c in ledger.claims_by_state(S.SCRUB_FAILED, S.SUBMITTED)} == {failed.id, sent}
    assert ledger.claim("NOPE") is None
    assert ledger.claims_by_state(S.PAID) == []
