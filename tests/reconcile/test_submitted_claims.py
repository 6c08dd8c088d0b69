"""Claims as sent, read back for reconciliation — real ledger, real 837P files, real reader.

One row per PCN (a resent claim is its latest record, dated when it was first sent), the
ledger's state and reject reason beside it; and the frames are exactly the row-by-row build
they replaced (columns, order, dtypes, values), COB and encounter facts included.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from pipeline.build.codes import CodeSets, load_code_sets
from pipeline.build.t837p import build_837p
from pipeline.ledger import Cause, ClaimDraft, ClaimState, Controls, Ledger, LineDraft
from pipeline.parse.t837p import read_837p
from pipeline.practice import Practice, load_practice
from pipeline.reconcile.inputs import (
    Submitted,
    SubmittedBuilder,
    cob_columns,
    encounter_extras,
    submitted_from_claim_records,
    submitted_from_records,
)
from pipeline.reconcile.matching import normalize_submitted
from pipeline.steps.reconciling import (
    LatestClaims,
    held_claims,
    refused_claims,
    submitted_claims,
)

ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 11, 27)
NOW = dt.datetime(2026, 11, 27, 21, 30)


class _Numbers:
    def __init__(self, start: int) -> None:
        self.n = start

    def _next(self) -> int:
        self.n += 1
        return self.n

    next_interchange = next_group = next_transaction = _next


@pytest.fixture(scope="module")
def practice() -> Practice:
    return load_practice(ROOT / "sample_edi" / "practice", mappings_dir=ROOT / "mappings").practice


@pytest.fixture(scope="module")
def codes() -> CodeSets:
    return load_code_sets(ROOT / "mappings")


def _build(practice: Practice, codes: CodeSets, encounters: Any = None, start: int = 0) -> str:
    out = io.StringIO()
    build_837p(
        practice, out, control_numbers=_Numbers(start), today=TODAY, codes=codes, now=NOW,
        encounters=encounters,
    )  # fmt: skip
    return out.getvalue()


def _reference(
    claims: Iterable[Any],
    network: Mapping[str, str],
    *,
    default_submitted: date,
    notes: Mapping[str, str],
    ledger_states: Mapping[str, str],
    reject_reasons: Mapping[str, str],
    encounter_facts: Mapping[str, Mapping[str, str]],
) -> Submitted:
    """The row-dict build SubmittedBuilder replaced (what every caller saw before)."""
    claim_rows: list[dict[str, Any]] = []
    line_rows: list[dict[str, Any]] = []
    for rec in claims:
        pcn = rec.patient_control_number
        lines = list(rec.lines)
        dates = [ln.service_date for ln in lines if ln.service_date]
        facility = rec.service_facility
        claim_rows.append(
            {
                "patient_control_number": pcn,
                "payer_id": rec.payer_id,
                "network_status": network.get(rec.payer_id, ""),
                "place_of_service": rec.place_of_service,
                "emergency": any(ln.emergency for ln in lines),
                "frequency_code": rec.frequency,
                "service_date_start": min(dates) if dates else None,
                "service_date_end": max(dates) if dates else None,
                "charge_amount": rec.total_charge,
                "aob": rec.benefits_assignment == "Y",
                "submitted_date": default_submitted,
                "patient_name": f"{rec.patient.first_name} {rec.patient.last_name}".strip().title(),
                "member_id": rec.member_id,
                "diagnosis_codes": " ".join(rec.diagnoses),
                "prior_auth_number": rec.prior_auth,
                "clinical_notes": notes.get(pcn, ""),
                "rendering_provider": rec.rendering_npi,
                "ledger_state": ledger_states.get(pcn, ""),
                "payer_claim_control_number": rec.original_claim_number,
                "payer_name": rec.payer_name,
                "reject_reason": reject_reasons.get(pcn, ""),
                "claim_filing_indicator": rec.claim_filing_indicator,
                "facility_npi": facility.npi if facility else "",
                "facility_name": facility.name if facility else "",
                "facility_state": facility.state if facility else "",
                "rendering_taxonomy": rec.rendering_taxonomy,
                **encounter_facts.get(pcn, {}),
            }
            | cob_columns(rec)
        )
        line_rows += [
            {
                "patient_control_number": pcn,
                "line_control_number": ln.line_control_number,
                "line_number": ln.line_number,
                "procedure_code": ln.procedure_code,
                "modifiers": " ".join(ln.modifiers),
                "units": ln.units,
                "charge_amount": ln.charge,
                "service_date": ln.service_date,
                "place_of_service": ln.place_of_service,
                "emergency": ln.emergency,
            }
            for ln in lines
        ]
    return submitted_from_records(claim_rows, line_rows)


def _same(got: Submitted, want: Submitted, *, any_order: bool = False) -> None:
    """Same columns (in the same order unless ``any_order``: the row-dict build put them in
    the order its first row had them), dtypes, cells and cell types; a NaN the row-dict
    build left where a row had no value is the None records() always made of it."""
    for frame, ref in ((got.claims, want.claims), (got.lines, want.lines)):
        names = list(ref.columns)
        assert (sorted(frame.columns) if any_order else list(frame.columns)) == (
            sorted(names) if any_order else names
        )
        for name in names:
            assert frame[name].dtype == ref[name].dtype, name
            cells = [None if isinstance(v, float) and v != v else v for v in ref[name]]
            assert list(frame[name]) == cells, name
            assert [type(v) for v in frame[name]] == [type(v) for v in cells], name


def test_frames_are_the_row_by_row_build(practice: Practice, codes: CodeSets) -> None:
    records = read_837p(_build(practice, codes).encode())
    records.append(records[0])  # a PCN given twice: two rows, as before
    pcns = [r.patient_control_number for r in records]
    network = {pid: str(p.network_status) for pid, p in practice.payers.items()}
    args: dict[str, Any] = {
        "default_submitted": TODAY,
        "notes": {e.patient_control_number: e.clinical_notes or "" for e in practice.encounters},
        "ledger_states": {pcns[0]: "accepted", pcns[1]: "rejected"},
        "reject_reasons": {pcns[1]: "A7 — invalid"},
        "encounter_facts": encounter_extras(practice),
    }
    got = submitted_from_claim_records(records, network, **args)
    _same(got, _reference(records, network, **args))
    # The demo carries what the columns must keep: COB, a facility, encounter facts.
    claims = got.claims
    assert claims["prior_paid_amount"].notna().any()
    assert (claims["facility_npi"] != "").any()
    assert (claims["attachments"] != "").any() or (claims["nsa_consent_date"] != "").any()
    # Equal texts are one object, not one per cell.
    payer_ids = list(claims["payer_id"])
    assert len({id(p) for p in payer_ids}) == len(set(payer_ids))


def test_a_resent_pcn_is_replaced_where_it_stood(practice: Practice, codes: CodeSets) -> None:
    records = read_837p(_build(practice, codes).encode())
    secondary = next(r for r in records if cob_columns(r).get("prior_paid_amount") is not None)
    primary = next(r for r in records if r.payer_id != secondary.payer_id and len(r.lines) > 1)
    # The secondary claim is sent again as a primary claim with one line.
    resent = dataclasses.replace(
        primary,
        patient_control_number=secondary.patient_control_number,
        lines=primary.lines[:1],
        total_charge=Decimal("12.34"),
    )
    others = [r for r in records if r not in (secondary, primary)][:3]
    network = {pid: str(p.network_status) for pid, p in practice.payers.items()}
    builder = SubmittedBuilder(network)
    for rec in (*others[:2], secondary, *others[2:]):
        builder.add(rec, date(2026, 11, 1), replace=True)
    builder.add(resent, date(2026, 11, 9), replace=True)
    got = builder.build()

    want = _reference(
        [*others[:2], resent, *others[2:]],
        network,
        default_submitted=date(2026, 11, 1),  # the day it was first sent
        notes={},
        ledger_states={},
        reject_reasons={},
        encounter_facts={},
    )
    _same(got, want, any_order=True)
    row = got.claims.iloc[2]
    assert row["charge_amount"] == Decimal("12.34")
    assert row["prior_paid_amount"] is None  # nothing of the secondary claim it replaced
    assert (got.lines["patient_control_number"] == secondary.patient_control_number).sum() == 1


def _stage(ledger: Ledger, path: Path, text: str, claim_ids: list[int], n: int) -> None:
    path.write_text(text, encoding="ascii")
    controls = Controls(f"{n:09d}", str(n), "0001")
    ledger.stage_submission(text.encode(), path.name, claim_ids, [controls], local_path=path)


def test_submitted_claims_from_the_ledger(
    practice: Practice, codes: CodeSets, tmp_path: Path
) -> None:
    encounters = practice.encounters[:4]
    first = _build(practice, codes, encounters)
    records = read_837p(first.encode())
    sent = [r.patient_control_number for r in records]
    assert len(sent) >= 3
    resent_pcn = sent[1]
    clock = [dt.datetime(2026, 11, 20, 22, 0, tzinfo=dt.UTC)]
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}", clock=lambda: clock[0])
    ids: dict[str, int] = {}
    for rec in records[:-1]:  # the last PCN is not in the ledger: no state
        line = rec.lines[0]
        draft = ClaimDraft(
            rec.patient_control_number,
            rec.payer_id,
            rec.total_charge,
            line.service_date,
            line.service_date,
            lines=[
                LineDraft(
                    1, line.line_control_number, line.procedure_code, line.charge, line.service_date
                )
            ],
        )
        ids[rec.patient_control_number] = ledger.record_claim(draft).id
    _stage(ledger, tmp_path / "837_a.x12", first, list(ids.values()), 1)
    ledger.transition(ids[sent[0]], ClaimState.REJECTED, Cause(code="A7", note="invalid NPI"))
    # Sent again two days later with another charge (no claim moves: not the point here).
    clock[0] = dt.datetime(2026, 11, 22, 22, 0, tzinfo=dt.UTC)
    again = _build(
        practice, codes, [e for e in encounters if e.patient_control_number == resent_pcn], 10
    )
    old_charge = next(r.total_charge for r in records if r.patient_control_number == resent_pcn)
    again = again.replace(f"CLM*{resent_pcn}*{old_charge}*", f"CLM*{resent_pcn}*4321.09*")
    _stage(ledger, tmp_path / "837_b.x12", again, [], 2)

    latest = LatestClaims(ledger)
    got = submitted_claims(ledger, practice, on=date(2026, 11, 21), latest=latest)
    claims = got.claims.set_index("patient_control_number")
    assert list(claims.index) == sent  # first-sent order, one row each
    assert claims.loc[resent_pcn, "charge_amount"] == Decimal("4321.09")
    assert claims.loc[resent_pcn, "submitted_date"] == date(2026, 11, 20)  # first sent
    assert claims.loc[sent[2], "submitted_date"] == date(2026, 11, 20)
    lines = got.lines
    resent_lines = next(r for r in records if r.patient_control_number == resent_pcn).lines
    assert (lines["patient_control_number"] == resent_pcn).sum() == len(resent_lines)
    assert claims.loc[sent[0], "ledger_state"] == "rejected"
    assert claims.loc[sent[0], "reject_reason"] == "A7 — invalid NPI"
    assert claims.loc[sent[2], "ledger_state"] == "submitted"
    assert claims.loc[sent[-1], "ledger_state"] == ""  # unknown to the ledger
    # What matching makes of it: the same claims as from the records themselves.
    rows = normalize_submitted(got)
    assert list(rows) == sent
    assert rows[resent_pcn].charge_amount == Decimal("4321.09")
    # LatestClaims keeps id and state, asked once per PCN.
    heads = latest(sent)
    assert {p: (h.id, h.state) for p, h in heads.items()} == {
        p: (i, ClaimState.REJECTED if p == sent[0] else ClaimState.SUBMITTED)
        for p, i in ids.items()
    }
    assert refused_claims(ledger, {}, latest=latest) == {}
    ledger.close()


def test_held_claims_keep_equal_cells_once(
    practice: Practice, codes: CodeSets, tmp_path: Path
) -> None:
    out = io.StringIO()
    built = build_837p(
        practice, out, control_numbers=_Numbers(0), today=TODAY, codes=codes, now=NOW
    )
    encounters = [e for e in practice.encounters if e.encounter_id in built.held]
    assert len(encounters) > 5
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    for n, e in enumerate(encounters):
        ledger.record_claim(
            ClaimDraft(
                e.patient_control_number,
                "CTS02",
                Decimal("100.00") if n % 2 else Decimal("250.00"),
                e.service_date,
                e.service_date,
                state=ClaimState.SCRUB_FAILED,
                payer_name="CASCADE TRUST",
            )
        )
    frame = held_claims(ledger, practice, on=TODAY)
    ledger.close()
    assert list(frame["patient_control_number"]) == [e.patient_control_number for e in encounters]
    assert set(frame["charge_amount"]) == {Decimal("100.00"), Decimal("250.00")}
    assert any(r.startswith("[") for r in frame["reason"])  # the scrubber's findings
    for name in ("payer_id", "payer_name", "service_date", "charge_amount", "reason"):
        cells = list(frame[name])
        assert len({id(v) for v in cells}) == len({(type(v), str(v)) for v in cells}), name
