"""Received files are taken in their sender's order (ISA13), whatever order they downloaded in."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from pipeline.ledger import Ledger
from pipeline.steps.files import REMITTANCE, waiting
from tests.parse.x12build import Claim, Counter, Payment, build_835


def remittance(folder: Path, name: str, isa13: int) -> Path:
    """A one-claim 835 whose interchange control number is ``isa13``."""
    claim = Claim(f"PCN{isa13}", "1", Decimal("100"), Decimal("80"), Decimal("20"))
    payment = Payment(Decimal("80"), f"T{isa13}", [claim])
    path = folder / name
    path.write_text(build_835([payment], control=Counter(isa13)), encoding="ascii")
    return path


def test_waiting_files_follow_the_interchange_control_numbers(tmp_path: Path) -> None:
    """Listed by modification time in whole seconds, then name, a batch downloads as the
    second boundaries fall; what is posted (and every export row) follows ISA13 instead."""
    with Ledger(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
        for name, isa13 in (("835_B_9.x12", 9), ("835_A_12.x12", 12), ("835_C_10.x12", 10)):
            ledger.register_received(remittance(tmp_path, name, isa13), name)
        order = [f.names[0] for f in waiting(ledger, REMITTANCE)]
    assert order == ["835_B_9.x12", "835_C_10.x12", "835_A_12.x12"]
