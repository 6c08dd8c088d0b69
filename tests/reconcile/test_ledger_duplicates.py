"""A claim paid again under another check: the ledger refuses it, and from then on it is never
posted twice (payment_posting, deposits, A/R) — real ledger, real 835 files, real parser."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from pipeline.ledger import Cause, ClaimDraft, ClaimState, Ledger, LineDraft
from pipeline.parse import parse_file
from pipeline.reconcile import reconcile, submitted_from_records
from pipeline.steps.reconciling import refused_claims
from pipeline.steps.remittance import combine_tables, post_remittance
from pipeline.steps.summaries import RemitSummary
from tests.parse.x12build import Claim, Counter, Line, Payment, build_835
from tests.reconcile import scenario

D = Decimal


def _payment(trace: str) -> str:
    line = Line(
        "99214",
        D("393.00"),
        D("150.30"),
        [("CO", "45", D("222.70")), ("PR", "2", D("20.00"))],
        control="DUP1-1",
        allowed=D("170.30"),
        date="20251005",
    )
    claim = Claim("DUP1", "1", D("393.00"), D("150.30"), D("20.00"), icn="ICNDUP1", lines=[line])
    return build_835([Payment(D("150.30"), trace, [claim])], control=Counter())


def test_the_ledger_refuses_a_second_payment_and_it_is_never_posted(tmp_path: Path) -> None:
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    claim = ledger.record_claim(
        ClaimDraft(
            "DUP1",
            "NWH01",
            D("393.00"),
            date(2025, 10, 5),
            date(2025, 10, 5),
            lines=[LineDraft(1, "DUP1-1", "99214", D("393.00"), date(2025, 10, 5))],
        )
    )
    ledger.transition(claim.id, ClaimState.SUBMITTED, Cause(code="sent"))
    ledger.transition(claim.id, ClaimState.ACCEPTED, Cause(code="277CA A1"))
    summary = RemitSummary()
    parsed = []
    for name, trace in (("835_first.x12", "EFT1"), ("835_again.x12", "CHK2")):
        path = tmp_path / name
        path.write_text(_payment(trace))
        record = ledger.register_received(path, name)
        result = parse_file(path, name=name)
        post_remittance(ledger, record, result, summary)
        parsed.append(result)
    assert len(summary.attention) == 1
    assert "paid -> paid is not allowed" in summary.attention[0]
    assert "held as a duplicate remittance" in summary.attention[0]
    remit = combine_tables(parsed)
    refused = refused_claims(ledger, remit)
    keys = list(remit["remit_claims"].claim_key)
    assert list(refused) == [keys[1]]  # the second check's CLP

    result = reconcile(
        remit,
        submitted_from_records(
            [
                {
                    "patient_control_number": "DUP1",
                    "payer_id": "NWH01",
                    "charge_amount": D("393.00"),
                    "service_date_start": date(2025, 10, 5),
                    "network_status": "in_network",
                }
            ],
            [
                {
                    "patient_control_number": "DUP1",
                    "line_control_number": "DUP1-1",
                    "procedure_code": "99214",
                    "charge_amount": D("393.00"),
                    "service_date": date(2025, 10, 5),
                }
            ],
        ),
        scenario.fee_schedule(),
        scenario.payers(),
        as_of=date(2025, 11, 27),
        codes=scenario.codes(),
        refused=refused,
    )
    assert sum(result.tables["payment_posting"].paid_amount, D(0)) == D("150.30")
    assert result.tables["duplicate_remittance"].claim_key.tolist() == [keys[1]]
    deposits = result.tables["deposits"]
    assert deposits.iloc[-1][
        ["deposit_amount", "posted_total", "duplicates_not_posted"]
    ].tolist() == [
        D("300.60"),
        D("150.30"),
        D("150.30"),
    ]
    assert set(deposits.difference) == {D("0")}
    ledger.close()
