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
from typing import Any, Final

from pipeline.clearinghouse.model import Claim, ServiceLine
from pipeline.clearinghouse.results import Adjustment, ClaimResult, LineResult

__all__ = ["ClaimHistory"]


class ClaimHistory:
    """Held as each claim's JSON text, not as objects: a third of the memory (every claim of
    the night stays here while the rest of the night runs), and a save joins the texts. A
    claim is rebuilt from its text when a replacement or void names it, as after a restart."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.texts: dict[str, str] = {}
        if path.exists():
            raw = json.loads(path.read_text(encoding="utf-8"))
            self.texts = {icn: _text(data) for icn, data in raw.items()}

    def get(self, icn: str) -> ClaimResult | None:
        text = self.texts.get(icn)
        return _result(json.loads(text)) if text is not None else None

    def record(self, result: ClaimResult) -> None:
        self.texts[result.icn] = _text(_dump(result))

    def forget(self, icn: str) -> None:
        self.texts.pop(icn, None)

    def save(self) -> None:
        # What json.dumps(data, sort_keys=True) writes for the whole dict, from the texts.
        items = (f"{_JSON_TEXT(icn)}: {text}" for icn, text in sorted(self.texts.items()))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            fh.write("{")
            fh.write(", ".join(items))
            fh.write("}\n")
        tmp.replace(self.path)


# json.dumps(data, sort_keys=True, default=str), from one encoder (json.dumps makes one a call)
_ENCODE: Final = json.JSONEncoder(sort_keys=True, default=str).encode


_JSON_TEXT: Final = json.encoder.encode_basestring_ascii  # json.dumps of a str


def _text(data: dict[str, Any]) -> str:
    return _ENCODE(data)


_CLAIM_FIELDS = tuple(f.name for f in dataclasses.fields(Claim))
_LINE_FIELDS = tuple(f.name for f in dataclasses.fields(ServiceLine))


def _dump(result: ClaimResult) -> dict[str, Any]:
    # What dataclasses.asdict gave, built directly: asdict deep-copies every value, which
    # was most of the save.
    claim = {name: getattr(result.claim, name) for name in _CLAIM_FIELDS}
    claim["lines"] = [{name: getattr(ln, name) for name in _LINE_FIELDS} for ln in claim["lines"]]
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
