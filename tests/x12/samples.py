"""Synthetic 835s written with the project's writer (no PHI: invented names and ids)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.x12.control import FileControlNumbers
from pipeline.x12.segments import Delimiters
from pipeline.x12.writer import GroupWriter, TransactionWriter, X12Writer

PIPE = Delimiters(element="|", repetition="^", component=">", segment="~")
NOW = dt.datetime(2025, 2, 19, 9, 30)
Adjustment = tuple[str, str, str]  # group, reason, amount


@dataclass
class Line:
    code: str
    charge: str
    paid: str
    cas: list[Adjustment] = field(default_factory=list)


@dataclass
class Claim:
    pcn: str
    status: str
    charge: str
    paid: str
    patient: str
    lines: list[Line]
    cas: list[Adjustment] = field(default_factory=list)
    icn: str = "ICN0001"


@dataclass
class Payment:
    amount: str
    trace: str
    claims: list[Claim]
    plb: list[tuple[str, str, str]] = field(default_factory=list)  # code, reference, amount


def write_835(
    path: Path, payments: Iterable[Payment], *, delimiters: Delimiters = PIPE, crlf: bool = True
) -> Path:
    """One interchange, one HP group, one 835 per payment."""
    counters = FileControlNumbers(path.with_suffix(".counters.json"))
    with path.open("w", encoding="ascii", newline="\r\n" if crlf else "\n") as out:
        writer = X12Writer(out, control_numbers=counters, delimiters=delimiters, now=NOW)
        with (
            writer.interchange(sender=("ZZ", "PAYERSENDER"), receiver=("ZZ", "PRACTICE")) as isa,
            isa.group("HP", "PAYERSENDER", "PRACTICE", "005010X221A1") as gs,
        ):
            for payment in payments:
                with _transaction_835(gs) as st:
                    _payment(st, payment)
    return path


@contextmanager
def _transaction_835(gs: GroupWriter) -> Iterator[TransactionWriter]:
    """Like ``gs.transaction("835")`` but without ST03, which X221A1 marks Not Used."""
    number = f"{gs.writer.control_numbers.next_transaction():04d}"
    ts = TransactionWriter(gs.writer, number)
    ts.segment("ST", "835", number)
    yield ts
    ts.segment("SE", str(ts.count + 1), number)
    gs.transactions += 1
    gs.transaction_control_numbers.append(number)


def _payment(st: TransactionWriter, p: Payment) -> None:
    seg = st.segment
    method = "ACH" if p.amount.lstrip("-") not in ("0", "0.00") else "NON"
    seg("BPR", "I", p.amount, "C", method, "CCP", "01", "999999992", "DA", "123456",
        "1512345678", None, "01", "999988880", "DA", "98765", "20250221")  # fmt: skip
    seg("TRN", "1", p.trace, "1512345678")
    seg("DTM", "405", "20250219")
    seg("N1", "PR", "EXAMPLE HEALTH PLAN")
    seg("N3", "PO BOX 1")
    seg("N4", "ANYTOWN", "NY", "12345")
    seg("PER", "BL", "EDI SUPPORT", "TE", "8005551212")
    seg("N1", "PE", "EXAMPLE PRACTICE LLC", "XX", "1234567893")
    seg("REF", "TJ", "123456789")
    seg("LX", "1")
    for claim in p.claims:
        seg("CLP", claim.pcn, claim.status, claim.charge, claim.paid, claim.patient, "12",
            claim.icn, "11", "1")  # fmt: skip
        for group, reason, amount in claim.cas:
            seg("CAS", group, reason, amount)
        seg("NM1", "QC", "1", "DOE", "JANE", None, None, None, "MI", "W123456789")
        seg("DTM", "050", "20250116")
        for number, line in enumerate(claim.lines, start=1):
            seg("SVC", ["HC", line.code], line.charge, line.paid, None, "1")
            seg("DTM", "472", "20250114")
            for group, reason, amount in line.cas:
                seg("CAS", group, reason, amount)
            seg("REF", "6R", f"{claim.pcn}-{number}")
    for code, reference, amount in p.plb:
        seg("PLB", "1234567893", "20251231", [code, reference], amount)


def balanced_835(path: Path) -> Path:
    """Two payments: an OON claim, a reversal + correction, PLB recoupment and interest."""
    first = Payment(
        amount="119",
        trace="EFT0001",
        claims=[
            Claim("PCN20250115A", "1", "250", "119", "131", [
                Line("99214", "200", "105", [("PR", "45", "50"), ("PR", "2", "45")]),
                Line("36415", "50", "14", [("PR", "45", "30"), ("PR", "2", "6")]),
            ]),
            Claim("PCN20241201B", "22", "-300", "-180", "-120", [
                Line("99213", "-300", "-180", [("PR", "2", "-120")]),
            ], icn="ICN0777"),
            Claim("PCN20241201B", "1", "300", "200", "100", [
                Line("99213", "300", "200", [("PR", "2", "100")]),
            ], icn="ICN0778"),
        ],
        plb=[("WO", "ICN20240777", "20")],
    )  # fmt: skip
    second = Payment(
        amount="85",
        trace="EFT0002",
        claims=[
            Claim("PCN20250116C", "1", "100", "80", "20", [
                Line("99213", "100", "80", [("PR", "3", "20")]),
            ]),
        ],
        plb=[("L6", "INTEREST", "-5")],
    )  # fmt: skip
    return write_835(path, [first, second])


def unbalanced_835(path: Path) -> Path:
    """Claim A off by 1 (lines fine), claim B's line off by 10 (claim fine), BPR off by 50."""
    payment = Payment(
        amount="150",
        trace="EFT0009",
        claims=[
            Claim("PCNCLAIMOFF", "1", "250", "120", "131", [
                Line("99214", "200", "105", [("PR", "45", "50"), ("PR", "2", "45")]),
                Line("36415", "50", "14", [("PR", "45", "30"), ("PR", "2", "6")]),
            ]),
            Claim("PCNLINEOFF", "1", "100", "80", "20", [
                Line("99213", "100", "90", [("PR", "2", "20")]),
            ]),
        ],
    )  # fmt: skip
    return write_835(path, [payment])


def partial_999(path: Path) -> Path:
    """A 999 accepting the first of two 837s and rejecting the second (AK9 P)."""
    counters = FileControlNumbers(path.with_suffix(".counters.json"))
    with path.open("w", encoding="ascii") as out:
        writer = X12Writer(out, control_numbers=counters, now=NOW)
        with (
            writer.interchange(sender=("ZZ", "CLEARINGHOUSE"), receiver=("ZZ", "PRACTICE")) as isa,
            isa.group("FA", "CLEARINGHOUSE", "PRACTICE", "005010X231A1") as gs,
            gs.transaction("999") as st,
        ):
            st.segment("AK1", "HC", "1", "005010X222A1")
            st.segment("AK2", "837", "0001", "005010X222A1")
            st.segment("IK5", "A")
            st.segment("AK2", "837", "0002", "005010X222A1")
            st.segment("IK3", "NM1", "8", "2010", "8")
            st.segment("IK4", "3", "66", "1")
            st.segment("IK5", "R", "5")
            st.segment("AK9", "P", "2", "2", "1")
    return path
