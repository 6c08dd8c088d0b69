"""The light reads reconciliation makes: each PCN's latest id and state, claims without lines."""

from __future__ import annotations

from dataclasses import fields

from pipeline.ledger import Cause, ClaimRecord, ClaimState, Ledger

from .conftest import draft

S = ClaimState


def test_latest_heads_are_the_latest_claims_id_and_state(ledger: Ledger) -> None:
    first = ledger.record_claim(draft("H1"))
    ledger.record_claim(draft("H2", lines=1))
    ledger.transition(first.id, S.SUBMITTED, Cause(code="sent"))
    ledger.transition(first.id, S.REJECTED, Cause(code="A7"))
    second = ledger.record_claim(draft("H1", charge="90.00", new_version=True))
    assert second.version == 2
    pcns = ["H1", "H2", "NOPE"]
    heads = ledger.latest_heads(pcns)
    full = ledger.latest_claims(pcns)
    assert set(heads) == set(full) == {"H1", "H2"}
    assert {p: (h.id, h.state) for p, h in heads.items()} == {
        p: (c.id, c.state) for p, c in full.items()
    }
    assert heads["H1"].id == second.id
    assert ledger.latest_heads([]) == {}


def test_claims_by_state_without_lines(ledger: Ledger) -> None:
    for pcn in ("W1", "W2", "W3"):
        ledger.record_claim(draft(pcn, lines=3, state=S.SCRUB_FAILED if pcn != "W2" else S.READY))
    full = ledger.claims_by_state(S.SCRUB_FAILED)
    bare = ledger.claims_by_state(S.SCRUB_FAILED, with_lines=False)
    assert [c.patient_control_number for c in bare] == ["W1", "W3"]
    assert all(len(c.lines) == 3 for c in full)
    assert all(c.lines == () for c in bare)
    assert [_but_lines(c) for c in bare] == [_but_lines(c) for c in full]


def _but_lines(record: ClaimRecord) -> dict[str, object]:
    return {f.name: getattr(record, f.name) for f in fields(record) if f.name != "lines"}
