"""Synthetic remittance tables (the DESIGN.md 835 tables), built independently of the simulator.

``RemitBuilder`` writes rows exactly as ``pipeline.parse`` names them; claim totals are derived
from the lines (CLP03 = ΣSVC02, CLP04 = ΣSVC03 − claim-level CAS, CLP05 = ΣPR) and BPR02 from
the claims and PLB unless a test sets it, so a test states only what it is about.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import pandas as pd

from pipeline.reconcile.inputs import REMIT_TABLES

D = Decimal


@dataclass
class Line:
    lcn: str
    code: str
    charge: str
    paid: str
    allowed: str | None = None
    adjustments: list[tuple[str, str, str]] = field(default_factory=list)  # (group, carc, amt)
    modifiers: str = ""
    units: str = "1"
    service_date: date | None = None
    original_code: str = ""
    remarks: str = ""


@dataclass
class RemitBuilder:
    payments: list[dict[str, Any]] = field(default_factory=list)
    claims: list[dict[str, Any]] = field(default_factory=list)
    lines: list[dict[str, Any]] = field(default_factory=list)
    adjustments: list[dict[str, Any]] = field(default_factory=list)
    plb: list[dict[str, Any]] = field(default_factory=list)
    _bpr: dict[str, Decimal | None] = field(default_factory=dict)

    def payment(
        self, trace: str, paid_on: date, payer_id: str, amount: str | None = None
    ) -> RemitBuilder:
        self._bpr[trace] = None if amount is None else D(amount)
        self.payments.append(
            {
                "source_file": f"{trace}.835",
                "interchange_control_number": "000000001",
                "transaction_control_number": "0001",
                "payer_name": f"PAYER {payer_id}",
                "payer_id": payer_id,
                "payee_name": "DEMO PRACTICE",
                "payee_npi": "1234567893",
                "payment_method": "ACH",
                "credit_debit": "C",
                "payment_amount": None,
                "payment_date": paid_on,
                "trace_number": trace,
            }
        )
        return self

    def claim(
        self,
        trace: str,
        pcn: str,
        lines: list[Line],
        *,
        status: str = "1",
        key: str | None = None,
        claim_adjustments: list[tuple[str, str, str]] = (),  # type: ignore[assignment]
        icn: str = "",
        reversal_of: str = "",
        sign: int = 1,
        service_date: date | None = None,
        member_id: str = "",
    ) -> str:
        key = key or f"{trace}-{len(self.claims) + 1}"
        s = D(sign)
        for n, ln in enumerate(lines, start=1):
            self.lines.append(
                {
                    "claim_key": key,
                    "line_number": n,
                    "line_control_number": ln.lcn,
                    "procedure_code": ln.code,
                    "modifiers": ln.modifiers,
                    "charge_amount": s * D(ln.charge),
                    "paid_amount": s * D(ln.paid),
                    "allowed_amount": None if ln.allowed is None else s * D(ln.allowed),
                    "units": D(ln.units),
                    "service_date": ln.service_date or service_date,
                    "original_procedure_code": ln.original_code,
                    "remark_codes": ln.remarks,
                }
            )
            for group, carc, amount in ln.adjustments:
                self.adjustments.append(
                    {
                        "claim_key": key,
                        "line_control_number": ln.lcn,
                        "level": "line",
                        "group_code": group,
                        "reason_code": carc,
                        "amount": s * D(amount),
                        "quantity": None,
                        "line_number": n,
                    }
                )
        for group, carc, amount in claim_adjustments:
            self.adjustments.append(
                {
                    "claim_key": key,
                    "line_control_number": "",
                    "level": "claim",
                    "group_code": group,
                    "reason_code": carc,
                    "amount": s * D(amount),
                    "quantity": None,
                    "line_number": None,
                }
            )
        claim_cas = sum((D(a) for _g, _c, a in claim_adjustments), D(0))
        pr = sum((D(a) for ln in lines for g, _c, a in ln.adjustments if g == "PR"), D(0)) + sum(
            (D(a) for g, _c, a in claim_adjustments if g == "PR"), D(0)
        )
        self.claims.append(
            {
                "claim_key": key,
                "trace_number": trace,
                "patient_control_number": pcn,
                "claim_status_code": status,
                "charge_amount": s * sum((D(ln.charge) for ln in lines), D(0)),
                "paid_amount": s * (sum((D(ln.paid) for ln in lines), D(0)) - claim_cas),
                "patient_responsibility": s * pr,
                "claim_filing_indicator": "CI",
                "payer_claim_control_number": icn or f"ICN{key}",
                "place_of_service": "",
                "frequency_code": "1",
                "patient_last_name": "DOE",
                "patient_first_name": "JANE",
                "patient_member_id": member_id,
                "service_date_start": service_date,
                "service_date_end": service_date,
                "reversal_of_claim_key": reversal_of,
                "corrected_by_claim_key": "",
            }
        )
        return key

    def provider_adjustment(self, trace: str, code: str, amount: str, ref: str = "") -> None:
        self.plb.append(
            {
                "trace_number": trace,
                "provider_id": "1234567893",
                "fiscal_period_date": date(2025, 12, 31),
                "reason_code": code,
                "reference_id": ref,
                "amount": D(amount),
            }
        )

    def tables(self) -> dict[str, pd.DataFrame]:
        for p in self.payments:
            trace = p["trace_number"]
            given = self._bpr.get(trace)
            if given is None:
                paid = sum(
                    (c["paid_amount"] for c in self.claims if c["trace_number"] == trace), D(0)
                )
                plb = sum((a["amount"] for a in self.plb if a["trace_number"] == trace), D(0))
                given = paid - plb
            p["payment_amount"] = given
        rows = {
            "remit_payments": self.payments,
            "remit_claims": self.claims,
            "remit_service_lines": self.lines,
            "remit_adjustments": self.adjustments,
            "remit_provider_adjustments": self.plb,
        }
        out = {}
        for name, columns in REMIT_TABLES.items():
            extra = ["line_number"] if name == "remit_adjustments" else []
            out[name] = pd.DataFrame(rows[name], columns=[*columns, *extra])
        return out
