"""Claims the payers have adjudicated, by payer claim control number (CLP07).

A replacement (CLM05-3 = 7) or void (8) names its original in REF*F8; the payer reverses that
original on the next 835. The history survives restarts as JSON under ``<root>/state``.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from pipeline.clearinghouse.model import Claim, ServiceLine
from pipeline.clearinghouse.results import Adjustment, ClaimResult, LineResult

__all__ = ["ClaimHistory"]


class ClaimHistory:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.claims: dict[str, ClaimResult] = {}
        if path.exists():
            raw = json.loads(path.read_text(encoding="utf-8"))
            self.claims = {icn: _result(data) for icn, data in raw.items()}

    def get(self, icn: str) -> ClaimResult | None:
        return self.claims.get(icn)

    def record(self, result: ClaimResult) -> None:
        self.claims[result.icn] = result

    def forget(self, icn: str) -> None:
        self.claims.pop(icn, None)

    def save(self) -> None:
        data = {icn: _dump(r) for icn, r in sorted(self.claims.items())}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        tmp.write_text(json.dumps(data, sort_keys=True, default=str) + "\n", encoding="utf-8")
        tmp.replace(self.path)


def _dump(result: ClaimResult) -> dict[str, Any]:
    claim = dataclasses.asdict(result.claim)
    return {
        "claim": claim,
        "icn": result.icn,
        "status": result.status,
        "received": result.received,
        "lines": [
            {
                "basis": ln.basis,
                "rate": ln.rate,
                "expected_allowed": ln.expected_allowed,
                "allowed": ln.allowed,
                "paid": ln.paid,
                "adjustments": [[a.group, a.reason, a.amount] for a in ln.adjustments],
                "rarcs": ln.rarcs,
                "denied": ln.denied,
            }
            for ln in result.lines
        ],
    }


def _result(data: dict[str, Any]) -> ClaimResult:
    raw = dict(data["claim"])
    lines = tuple(
        ServiceLine(
            **{
                **line,
                "charge": Decimal(line["charge"]),
                "units": Decimal(line["units"]),
                "service_date": date.fromisoformat(line["service_date"]),
                "modifiers": tuple(line["modifiers"]),
            }
        )
        for line in raw.pop("lines")
    )
    claim = Claim(
        **{
            **raw,
            "lines": lines,
            "total_charge": Decimal(raw["total_charge"]),
            "dob": date.fromisoformat(raw["dob"]) if raw.get("dob") else None,
            "diagnoses": tuple(raw.get("diagnoses", ())),
        }
    )
    results = [
        LineResult(
            line,
            ln["basis"],
            Decimal(ln["rate"]) if ln["rate"] is not None else None,
            Decimal(ln["expected_allowed"]),
            Decimal(ln["allowed"]),
            Decimal(ln["paid"]),
            [Adjustment(g, r, Decimal(a)) for g, r, a in ln["adjustments"]],
            list(ln["rarcs"]),
            denied=bool(ln["denied"]),
        )
        for line, ln in zip(lines, data["lines"], strict=True)
    ]
    received = date.fromisoformat(data["received"]) if data.get("received") else None
    return ClaimResult(claim, data["icn"], results, status=data["status"], received=received)
