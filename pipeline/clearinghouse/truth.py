"""Ground truth: what the simulator decided and injected, for the reconciliation tests.

Written to ``<root>/ground_truth/truth.jsonl`` (outside the SFTP folders, so the pipeline
never sees it): one JSON object per line, keys sorted, amounts as decimal strings, appended
per inbound file in processing order. The format is documented in this package's README.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

from pipeline.clearinghouse.adjudicate import Outcome
from pipeline.clearinghouse.fees import FeeSchedule
from pipeline.clearinghouse.plans import PlanDesign
from pipeline.clearinghouse.results import ClaimResult, FrontEnd, LineResult, Payment, Problem

__all__ = ["TruthWriter", "outcome_records", "read_ground_truth"]


def _money(value: object) -> str | None:
    return None if value is None else str(value)


def outcome_records(
    source: str,
    outcome: Outcome,
    payment_files: dict[int, str],
    plans: dict[str, PlanDesign],
    fees: FeeSchedule,
) -> list[dict[str, Any]]:
    """Records for one 837P: every claim (accepted or not), its lines, payments and PLBs."""
    records: list[dict[str, Any]] = []
    final: dict[str, ClaimResult] = {}
    paid_in: dict[int, Payment] = {}
    for payment in outcome.payments:
        for result in payment.claims:
            paid_in[id(result)] = payment
            if result.status != "22":
                final[result.icn] = result
    for verdict in outcome.front_end:
        if not verdict.accepted:
            records.extend(_rejected(source, verdict, plans, fees))
    for result in outcome.results:
        corrected = _corrected_of(result, final)
        records.extend(_claim(source, result, corrected, paid_in.get(id(corrected))))
    for number, payment in enumerate(outcome.payments):
        records.append(_payment(source, payment, payment_files.get(number, "")))
        pcn_of = {r.icn: r.claim.pcn for r in payment.claims}
        pcn_of.update({r.icn: r.claim.pcn for r in outcome.results})
        for adj in payment.adjustments:
            records.append(
                {
                    "record": "provider_adjustment",
                    "source_file": source,
                    "payer_id": payment.payer_id,
                    "trace_number": payment.trace,
                    "code": adj.code,
                    "reference": adj.reference,
                    "amount": str(adj.amount),
                    "patient_control_number": pcn_of.get(adj.reference, ""),
                    "kind": {"L6": "plb_interest", "WO": "plb_recoupment"}.get(adj.code, ""),
                }
            )
    return records


def _corrected_of(result: ClaimResult, final: dict[str, ClaimResult]) -> ClaimResult:
    for problem in result.problems:
        if problem.kind == "reversal" and problem.reference in final:
            return final[problem.reference]
    return result


def _problems(problems: list[Problem]) -> list[dict[str, Any]]:
    return [p.record() for p in problems]


def _claim(
    source: str, result: ClaimResult, final: ClaimResult, payment: Payment | None
) -> list[dict[str, Any]]:
    claim = result.claim
    lines = [
        _line(source, claim.pcn, claim.payer_id, ln, fl)
        for ln, fl in zip(result.lines, final.lines, strict=True)
    ]
    denied = all(ln.denied for ln in result.lines)
    status = "denied" if denied else "paid"
    if result.status == "22":
        status = "voided"
    elif result.has("paid_to_patient"):
        status = "paid_to_patient"
    elif not denied and any(ln.denied for ln in result.lines):
        status = "partially_denied"
    record = {
        "record": "claim",
        "source_file": source,
        "patient_control_number": claim.pcn,
        "payer_id": claim.payer_id,
        "payer_claim_control_number": result.icn,
        "final_claim_control_number": final.icn,
        "acknowledgment": "accepted",
        "frequency": claim.frequency,
        "replaces": claim.original_claim_number if claim.frequency == "7" else "",
        "outcome": status,
        "claim_status_code": result.status,
        "charge_amount": str(result.charge),
        "paid_amount": str(final.paid),
        "first_paid_amount": str(result.paid),
        "patient_responsibility": str(final.patient),
        "nsa_protected": claim.nsa_protected,
        "payment_trace_number": payment.trace if payment else "",
        "payment_cycle": payment.cycle if payment else None,
        "interest": str(result.interest),
        "problems": _problems(result.all_problems),
    }
    return [record, *lines]


def _line(
    source: str, pcn: str, payer_id: str, first: LineResult, final: LineResult
) -> dict[str, Any]:
    ln = first.line
    return {
        "record": "line",
        "source_file": source,
        "patient_control_number": pcn,
        "line_control_number": ln.line_control_number,
        "line_number": ln.line_number,
        "payer_id": payer_id,
        "procedure_code": ln.procedure_code,
        "modifiers": list(ln.modifiers),
        "units": str(ln.units),
        "service_date": ln.service_date.isoformat(),
        "charge_amount": str(ln.charge),
        "basis": first.basis,
        "rate": _money(first.rate),
        "expected_allowed": str(first.expected_allowed),
        "allowed_amount": str(final.allowed),
        "paid_amount": str(final.paid),
        "patient_responsibility": str(final.patient),
        "denied": first.denied,
        "problems": _problems(first.problems),
    }


def _rejected(
    source: str, verdict: FrontEnd, plans: dict[str, PlanDesign], fees: FeeSchedule
) -> list[dict[str, Any]]:
    claim = verdict.claim
    status = ":".join(x for x in (verdict.category, verdict.status, verdict.entity) if x)
    problem = Problem(
        "rejected_277ca",
        injected=verdict.injected,
        reference=status,
        note=verdict.reason,
        amount=claim.total_charge,
    )
    records: list[dict[str, Any]] = [
        {
            "record": "claim",
            "source_file": source,
            "patient_control_number": claim.pcn,
            "payer_id": claim.payer_id,
            "payer_claim_control_number": "",
            "final_claim_control_number": "",
            "acknowledgment": "rejected",
            "frequency": claim.frequency,
            "replaces": claim.original_claim_number if claim.frequency == "7" else "",
            "outcome": "rejected",
            "claim_status_code": "",
            "charge_amount": str(claim.total_charge),
            "paid_amount": None,
            "first_paid_amount": None,
            "patient_responsibility": None,
            "nsa_protected": claim.nsa_protected,
            "payment_trace_number": "",
            "payment_cycle": None,
            "interest": "0",
            "problems": [problem.record()],
        }
    ]
    plan = plans.get(claim.payer_id)
    for ln in claim.lines:
        basis, rate = "", None
        if plan is not None:
            basis = (
                "contract" if plan.in_network_payer else ("qpa" if claim.nsa_protected else "ucr")
            )
            rate = fees.rate(plan.payer_id, basis, ln.procedure_code, ln.modifiers, ln.service_date)
        expected = (
            min(ln.charge, (rate * ln.units).quantize(ln.charge.__class__("0.01")))
            if rate
            else None
        )
        records.append(
            {
                "record": "line",
                "source_file": source,
                "patient_control_number": claim.pcn,
                "line_control_number": ln.line_control_number,
                "line_number": ln.line_number,
                "payer_id": claim.payer_id,
                "procedure_code": ln.procedure_code,
                "modifiers": list(ln.modifiers),
                "units": str(ln.units),
                "service_date": ln.service_date.isoformat(),
                "charge_amount": str(ln.charge),
                "basis": basis if rate is not None else "",
                "rate": _money(rate),
                "expected_allowed": _money(expected),
                "allowed_amount": None,
                "paid_amount": None,
                "patient_responsibility": None,
                "denied": False,
                "problems": [],
            }
        )
    return records


def _payment(source: str, payment: Payment, file_name: str) -> dict[str, Any]:
    return {
        "record": "payment",
        "source_file": source,
        "file": file_name,
        "payer_id": payment.payer_id,
        "trace_number": payment.trace,
        "payment_method": "NON" if payment.amount == 0 else payment.method,
        "payment_amount": str(payment.amount),
        "payment_date": payment.date.isoformat(),
        "cycle": payment.cycle,
        "claims": [r.claim.pcn for r in payment.claims],
    }


# What json.dumps(record, sort_keys=True) writes, from one encoder (json.dumps makes one a
# call); records are joined a few thousand at a time, one write each.
_ENCODER: Final = json.JSONEncoder(sort_keys=True)
_WRITE_RECORDS: Final = 2048


class TruthWriter:
    """Appends records to ``<root>/ground_truth/truth.jsonl``."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "truth.jsonl"

    def append(self, records: list[dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        encode = _ENCODER.encode
        with self.path.open("a", encoding="utf-8") as fh:
            for at in range(0, len(records), _WRITE_RECORDS):
                fh.write("".join([f"{encode(r)}\n" for r in records[at : at + _WRITE_RECORDS]]))

    def read(self) -> list[dict[str, Any]]:
        return read_ground_truth(self.path) if self.path.exists() else []


def read_ground_truth(path: Path, record: str | None = None) -> list[dict[str, Any]]:
    """The records of a ``truth.jsonl`` (a simulator root's ``ground_truth/truth.jsonl``),
    optionally only those of one ``record`` type (``claim``, ``line``, ``payment``, ...)."""
    if path.is_dir():
        path = path / "ground_truth" / "truth.jsonl"
    with path.open(encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    return [r for r in rows if record is None or r["record"] == record]
