"""Batched posting (``Ledger.posting``) gives the ledger per-claim ``transition`` gives, once."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from pipeline.errors import IllegalTransition
from pipeline.ledger import Cause, ClaimState, Ledger

from .conftest import draft

S = ClaimState

# (PCN, target, CLP segment, claim_key, paid, payer claim number): two 835s in arrival order.
FIRST = [
    ("P1", S.PAID, 10, "K1", "80.00", "ICN1"),
    ("P2", S.DENIED, 20, "K2", "0.00", "ICN2"),
    ("P3", S.PARTIALLY_PAID, 30, "K3", "40.00", None),
    ("P4", S.PAID, 40, "K4", "55.00", "ICN4"),
    ("P4", S.REVERSED, 50, "K4R", "-55.00", "ICN4"),  # paid and taken back in the same file
    ("P4", S.PAID, 60, "K4C", "50.00", "ICN4B"),
    ("P5", S.RESUBMITTED, 70, "K5", "1.00", None),  # illegal from accepted: refused
]
SECOND = [
    ("P1", S.PAID, 10, "K1X", "80.00", None),  # paid again under another check: refused
    ("P2", S.REVERSED, 20, "K2R", "0.00", None),
    ("P5", S.PAID, 30, "K5", "90.00", "ICN5"),
]


def _setup(ledger: Ledger, tmp_path: Path) -> list[int]:
    for pcn in ("P1", "P2", "P3", "P4", "P5"):
        claim = ledger.record_claim(draft(pcn))
        ledger.transition(claim.id, S.SUBMITTED, Cause(note="sent", reference=pcn))
        ledger.transition(claim.id, S.ACCEPTED, Cause(note="277CA", reference=pcn))
    ids = []
    tmp_path.mkdir(parents=True, exist_ok=True)
    for name in ("first.835", "second.835"):
        path = tmp_path / name
        path.write_bytes(name.encode())
        ids.append(ledger.register_received(path, name).id)
    return ids


def _cause(file_id: int, seg: int, key: str, paid: str) -> Cause:
    return Cause(file_id, seg, "CLP02", None, key, Decimal(paid))


def _one_by_one(ledger: Ledger, file_id: int, rows: list[tuple]) -> list[str]:
    out = []
    for pcn, target, seg, key, paid, number in rows:
        claim = ledger.claim(pcn)
        assert claim is not None
        try:
            event = ledger.transition(
                claim.id, target, _cause(file_id, seg, key, paid), payer_claim_control_number=number
            )
        except IllegalTransition:
            out.append("refused")
            continue
        out.append("replayed" if event.replayed else "new")
    return out


def _batched(ledger: Ledger, file_id: int, rows: list[tuple]) -> list[str]:
    out = []
    with ledger.posting(file_id) as posting:
        claims = posting.claims(r[0] for r in rows)
        for pcn, target, seg, key, paid, number in rows:
            try:
                new = posting.transition(
                    claims[pcn].id,
                    target,
                    _cause(file_id, seg, key, paid),
                    payer_claim_control_number=number,
                )
            except IllegalTransition:
                out.append("refused")
                continue
            out.append("new" if new else "replayed")
    return out


def _snapshot(ledger: Ledger) -> list[tuple]:
    rows = []
    for pcn in ("P1", "P2", "P3", "P4", "P5"):
        claim = ledger.claim(pcn)
        assert claim is not None
        events = [
            (
                e.from_state,
                e.to_state,
                ledger.file(e.file_id).names[0] if e.file_id else None,
                e.segment_number,
                e.code,
                e.reference,
                e.amount,
            )
            for e in ledger.transitions(claim.id)
        ]
        rows.append((pcn, claim.state, claim.payer_claim_control_number, events))
    return rows


def test_batched_posting_gives_the_same_ledger_as_one_by_one(
    ledger: Ledger, tmp_path: Path
) -> None:
    with Ledger(f"sqlite:///{tmp_path / 'reference.db'}") as reference:
        ref_files = _setup(reference, tmp_path / "ref")
        pairs = zip(ref_files, (FIRST, SECOND), strict=True)
        expected = [_one_by_one(reference, f, rows) for f, rows in pairs]
        want = _snapshot(reference)
    files = _setup(ledger, tmp_path)
    got = [_batched(ledger, f, rows) for f, rows in zip(files, (FIRST, SECOND), strict=True)]
    assert got == expected
    assert got[0] == ["new"] * 6 + ["refused"]
    assert got[1] == ["refused", "new", "new"]
    assert _snapshot(ledger) == want
    assert ledger.claim("P4").payer_claim_control_number == "ICN4B"  # type: ignore[union-attr]


def test_posting_a_file_again_posts_nothing_twice(ledger: Ledger, tmp_path: Path) -> None:
    files = _setup(ledger, tmp_path)
    _batched(ledger, files[0], FIRST)
    before = _snapshot(ledger)
    # A rerun of the night (the file is posted again): every CLP is a replay, nothing changes.
    assert _batched(ledger, files[0], FIRST) == ["replayed"] * 6 + ["refused"]
    assert _snapshot(ledger) == before


def test_a_failed_batch_writes_nothing(ledger: Ledger, tmp_path: Path) -> None:
    files = _setup(ledger, tmp_path)
    with pytest.raises(RuntimeError), ledger.posting(files[0]) as posting:
        claims = posting.claims(["P1"])
        assert posting.transition(claims["P1"].id, S.PAID, _cause(files[0], 10, "K1", "80.00"))
        raise RuntimeError("crash mid-file")
    assert ledger.claim("P1").state is S.ACCEPTED  # type: ignore[union-attr]
    assert _batched(ledger, files[0], FIRST[:1]) == ["new"]
