"""Fee schedule look-ups (``mappings/fee_schedules/fee_schedule.csv``): contract, UCR, QPA."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from pipeline.errors import ConfigError

__all__ = ["FeeRow", "FeeSchedule"]


@dataclass(frozen=True, slots=True)
class FeeRow:
    payer_id: str
    basis: str
    procedure_code: str
    modifier: str
    effective_from: date
    effective_to: date | None
    amount: Decimal

    def covers(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)


class FeeSchedule:
    """Rates per payer x basis x procedure x modifier x period; the more specific row wins."""

    def __init__(self, rows: list[FeeRow], charges: dict[str, Decimal]) -> None:
        self.rows: dict[tuple[str, str], list[FeeRow]] = {}
        for row in rows:
            self.rows.setdefault((row.basis, row.procedure_code), []).append(row)
        self.charges = charges

    @classmethod
    def load(cls, folder: Path) -> FeeSchedule:
        path = folder / "fee_schedule.csv"
        rows: list[FeeRow] = []
        for number, rec in enumerate(_rows(path), start=2):
            try:
                rows.append(
                    FeeRow(
                        payer_id=rec["payer_id"].strip(),
                        basis=rec["basis"].strip(),
                        procedure_code=rec["procedure_code"].strip(),
                        modifier=(rec.get("modifier") or "").strip(),
                        effective_from=date.fromisoformat(rec["effective_from"].strip()),
                        effective_to=(
                            date.fromisoformat(rec["effective_to"].strip())
                            if (rec.get("effective_to") or "").strip()
                            else None
                        ),
                        amount=Decimal(rec["amount"].strip()),
                    )
                )
            except (KeyError, ValueError, InvalidOperation) as exc:
                raise ConfigError(f"{path}: row {number}: {exc}") from exc
        charges = {
            r["procedure_code"].strip(): Decimal(r["practice_charge"].strip())
            for r in _rows(folder / "procedures.csv")
        }
        return cls(rows, charges)

    def knows(self, procedure_code: str) -> bool:
        """A code the payers' tables list (anything else is an invalid code to them)."""
        return procedure_code in self.charges or any(
            code == procedure_code for _, code in self.rows
        )

    def rate(
        self, payer_id: str, basis: str, procedure_code: str, modifiers: tuple[str, ...], on: date
    ) -> Decimal | None:
        row = self._pick(payer_id, basis, procedure_code, modifiers, on)
        return row.amount if row else None

    def previous_rate(
        self, payer_id: str, basis: str, procedure_code: str, modifiers: tuple[str, ...], on: date
    ) -> Decimal | None:
        """The rate of the period before the one covering ``on`` (last year's contract)."""
        current = self._pick(payer_id, basis, procedure_code, modifiers, on)
        if current is None:
            return None
        earlier = [
            r
            for r in self.rows.get((basis, procedure_code), [])
            if r.payer_id == current.payer_id
            and r.modifier == current.modifier
            and r.effective_to is not None
            and r.effective_to < current.effective_from
        ]
        if not earlier:
            return None
        return max(earlier, key=lambda r: r.effective_from).amount

    def _pick(
        self, payer_id: str, basis: str, procedure_code: str, modifiers: tuple[str, ...], on: date
    ) -> FeeRow | None:
        best: tuple[int, FeeRow] | None = None
        for row in self.rows.get((basis, procedure_code), []):
            if row.payer_id not in (payer_id, "*") or not row.covers(on):
                continue
            if row.modifier and row.modifier not in modifiers:
                continue
            score = (2 if row.payer_id == payer_id else 0) + (1 if row.modifier else 0)
            if best is None or score > best[0]:
                best = (score, row)
        return best[1] if best else None


def _rows(path: Path) -> list[dict[str, str]]:
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            return list(csv.DictReader(fh))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
