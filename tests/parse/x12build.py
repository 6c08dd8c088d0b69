"""Small builders for return files, written with the project's own X12Writer.

Used by ``make_samples.py`` (the committed samples) and by the tests (independent files
in tmp). Each builder takes plain data (lists/tuples/dicts) so a test states exactly
what it expects back.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pipeline.x12.segments import Delimiters
from pipeline.x12.writer import Repeated, TransactionWriter, X12Writer

NOW = dt.datetime(2025, 3, 3, 9, 30)


class Counter:
    """In-memory control numbers (the ledger issues real ones)."""

    def __init__(self, start: int = 1) -> None:
        self.values = {"interchange": start - 1, "group": start - 1, "transaction": start - 1}

    def _next(self, kind: str) -> int:
        self.values[kind] += 1
        return self.values[kind]

    def next_interchange(self) -> int:
        return self._next("interchange")

    def next_group(self) -> int:
        return self._next("group")

    def next_transaction(self) -> int:
        return self._next("transaction")


def money(value: Decimal | int | str) -> str:
    """X12 amount text: no exponent, no trailing '.0' games."""
    d = Decimal(str(value))
    text = format(d, "f")
    return text


@contextmanager
def interchange(
    out: io.StringIO,
    *,
    gs01: str,
    version: str,
    delimiters: Delimiters | None = None,
    control: Counter | None = None,
    sender: str = "PAYERCH",
    receiver: str = "DEMOPRACTICE",
) -> Iterator[Any]:
    writer = X12Writer(out, control_numbers=control or Counter(), delimiters=delimiters, now=NOW)
    with writer.interchange(sender=("ZZ", sender), receiver=("ZZ", receiver)) as isa:
        with isa.group(gs01, sender, receiver, version) as gs:
            yield gs


# -- 835 ---------------------------------------------------------------------------------
@dataclass
class Line:
    code: str
    charge: Decimal
    paid: Decimal
    adjustments: list[tuple[str, str, Decimal]] = field(default_factory=list)  # group, reason, amt
    modifiers: tuple[str, ...] = ()
    units: Decimal | None = None
    original_code: str = ""
    control: str = ""
    allowed: Decimal | None = None
    date: str = "20250210"
    remarks: tuple[str, ...] = ()
    quantity: Decimal | None = None  # of the first adjustment


@dataclass
class Claim:
    pcn: str
    status: str
    charge: Decimal
    paid: Decimal
    patient: Decimal
    icn: str = ""
    lines: list[Line] = field(default_factory=list)
    adjustments: list[tuple[str, str, Decimal]] = field(default_factory=list)
    patient_name: tuple[str, str, str] = ("DOE", "JANE", "W100")
    insured: tuple[str, str, str] | None = None
    corrected: tuple[str, str, str] | None = None
    rendering: str = ""
    statement: tuple[str, str] | None = None
    received: str = ""
    remarks: tuple[str, ...] = ()
    pos: str = "11"
    frequency: str = "1"
    filing: str = "12"


@dataclass
class Payment:
    amount: Decimal
    trace: str
    claims: list[Claim]
    plb: list[tuple[str, str, str, Decimal]] = field(default_factory=list)  # code, ref, ... amt
    payer: tuple[str, str] = ("NORTHWIND HEALTH", "NWH01")
    payee: tuple[str, str] = ("DEMO PRACTICE LLC", "1234567893")
    method: str = "ACH"
    date: str = "20250228"
    provider_id: str = "1234567893"


def write_835_transaction(st: TransactionWriter, p: Payment) -> None:
    seg = st.segment
    method_fields: list[str | None] = (
        [
            "CCP",
            "01",
            "999999992",
            "DA",
            "123456",
            "1512345678",
            None,
            "01",
            "999988880",
            "DA",
            "98765",
            p.date,
        ]
        if p.method == "ACH"
        else [None] * 11 + [p.date]
    )
    seg("BPR", "I" if p.method != "NON" else "H", money(p.amount), "C", p.method, *method_fields)
    seg("TRN", "1", p.trace, "1512345678")
    seg("DTM", "405", "20250227")
    seg("N1", "PR", p.payer[0], "XV", p.payer[1])
    seg("N3", "PO BOX 100")
    seg("N4", "SPRINGFIELD", "IL", "62701")
    seg("PER", "BL", "EDI SUPPORT", "TE", "8005551212")
    seg("N1", "PE", p.payee[0], "XX", p.payee[1])
    seg("REF", "TJ", "123456789")
    seg("LX", "1")
    for c in p.claims:
        write_claim(st, c)
    for i in range(0, len(p.plb), 6):
        pairs: list[Any] = []
        for code, ref, amt in ((x[0], x[1], x[3]) for x in p.plb[i : i + 6]):
            pairs += [[code, ref or None], money(amt)]
        seg("PLB", p.provider_id, "20251231", *pairs)


def write_claim(st: TransactionWriter, c: Claim) -> None:
    seg = st.segment
    seg(
        "CLP",
        c.pcn,
        c.status,
        money(c.charge),
        money(c.paid),
        money(c.patient),
        c.filing,
        c.icn or None,
        c.pos,
        c.frequency,
    )
    write_cas(st, c.adjustments)
    seg(
        "NM1",
        "QC",
        "1",
        c.patient_name[0],
        c.patient_name[1],
        None,
        None,
        None,
        "MI",
        c.patient_name[2],
    )
    if c.insured:
        seg("NM1", "IL", "1", c.insured[0], c.insured[1], None, None, None, "MI", c.insured[2])
    if c.corrected:
        seg("NM1", "74", "1", c.corrected[0], c.corrected[1], None, None, None, "C", c.corrected[2])
    if c.rendering:
        seg("NM1", "82", "1", "SMITH", "JOHN", None, None, None, "XX", c.rendering)
    if c.remarks:
        seg("MOA", None, None, *c.remarks)
    if c.statement:
        seg("DTM", "232", c.statement[0])
        seg("DTM", "233", c.statement[1])
    if c.received:
        seg("DTM", "050", c.received)
    for line in c.lines:
        write_line(st, line)


def write_line(st: TransactionWriter, line: Line) -> None:
    seg = st.segment
    code = ["HC", line.code, *line.modifiers]
    original = ["HC", line.original_code] if line.original_code else None
    seg(
        "SVC",
        code,
        money(line.charge),
        money(line.paid),
        None,
        money(line.units) if line.units is not None else None,
        original,
    )
    seg("DTM", "472", line.date)
    write_cas(st, line.adjustments, line.quantity)
    if line.control:
        seg("REF", "6R", line.control)
    if line.allowed is not None:
        seg("AMT", "B6", money(line.allowed))
    for remark in line.remarks:
        seg("LQ", "HE", remark)


def write_cas(
    st: TransactionWriter,
    adjustments: Sequence[tuple[str, str, Decimal]],
    quantity: Decimal | None = None,
) -> None:
    """CAS segments: one per group, up to 6 triplets each (more start a new CAS)."""
    groups: dict[str, list[tuple[str, Decimal]]] = {}
    for group, reason, amount in adjustments:
        groups.setdefault(group, []).append((reason, amount))
    first = True
    for group, items in groups.items():
        for i in range(0, len(items), 6):
            elements: list[str | None] = []
            for reason, amount in items[i : i + 6]:
                q = money(quantity) if first and quantity is not None else None
                elements += [reason, money(amount), q]
                first = False
            st.segment("CAS", group, *elements)


def build_835(
    payments: Sequence[Payment],
    *,
    delimiters: Delimiters | None = None,
    control: Counter | None = None,
) -> str:
    out = io.StringIO()
    with interchange(
        out, gs01="HP", version="005010X221A1", delimiters=delimiters, control=control
    ) as gs:
        for p in payments:
            with gs.transaction("835") as st:
                write_835_transaction(st, p)
    return out.getvalue()


# -- 271 ---------------------------------------------------------------------------------
@dataclass
class Member:
    last: str
    first: str
    member_id: str
    trace: str
    benefits: list[list[Any]] = field(default_factory=list)  # EB elements (EB01..), msgs via "MSG"
    rejects: list[tuple[str, str, str]] = field(default_factory=list)  # AAA01, AAA03, AAA04
    dependents: list[Member] = field(default_factory=list)


def build_271(
    members: Sequence[Member],
    *,
    source_rejects: Sequence[tuple[str, str, str]] = (),
    control: Counter | None = None,
) -> str:
    out = io.StringIO()
    with interchange(out, gs01="HB", version="005010X279A1", control=control) as gs:
        with gs.transaction("271") as st:
            seg = st.segment
            seg("BHT", "0022", "11", "REQ0001", "20250303", "0930")
            seg("HL", "1", None, "20", "1")
            seg("NM1", "PR", "2", "NORTHWIND HEALTH", None, None, None, None, "PI", "NWH01")
            for a in source_rejects:
                seg("AAA", a[0], None, a[1], a[2])
            seg("HL", "2", "1", "21", "1")
            seg("NM1", "1P", "2", "DEMO PRACTICE LLC", None, None, None, None, "XX", "1234567893")
            hl = 2
            for m in members:
                hl += 1
                parent = hl
                seg("HL", str(hl), "2", "22", "1" if m.dependents else "0")
                _member(st, m, "IL")
                for d in m.dependents:
                    hl += 1
                    seg("HL", str(hl), str(parent), "23", "0")
                    _member(st, d, "03")
    return out.getvalue()


def _member(st: TransactionWriter, m: Member, code: str) -> None:
    seg = st.segment
    if m.trace:
        seg("TRN", "2", m.trace, "9DEMOPRACT")
    seg(
        "NM1",
        code,
        "1",
        m.last,
        m.first,
        None,
        None,
        None,
        "MI" if m.member_id else None,
        m.member_id or None,
    )
    for a in m.rejects:
        seg("AAA", a[0], None, a[1], a[2])
    seg("DMG", "D8", "19800101", "F")
    for eb in m.benefits:
        if eb and eb[0] == "MSG":
            seg("MSG", eb[1])
        elif eb and eb[0] == "AAA":
            seg("AAA", eb[1], None, eb[2], eb[3])
        else:
            eb_segment(st, eb)


def eb_segment(st: TransactionWriter, elements: Sequence[Any]) -> None:
    """EB; a list in EB03 is written as a repeated element (``30^1^33``)."""
    values = list(elements)
    if len(values) > 2 and isinstance(values[2], list):
        values[2] = Repeated(values[2])
    st.segment("EB", *values)


# -- 999 / TA1 / 277CA -------------------------------------------------------------------
def build_999(
    sets: Sequence[dict[str, Any]], *, group_status: str, control: Counter | None = None
) -> str:
    """``sets``: dicts with st02, status, errors=[(seg, pos, loop, code, [(elem, ref, code, bad)],
    ctx)], codes=[IK502...]."""
    out = io.StringIO()
    with interchange(out, gs01="FA", version="005010X231A1", control=control) as gs:
        with gs.transaction("999") as st:
            seg = st.segment
            seg("AK1", "HC", "4021", "005010X222A1")
            accepted = 0
            for s in sets:
                seg("AK2", "837", s["st02"], "005010X222A1")
                for err in s.get("errors", []):
                    seg("IK3", err[0], err[1], err[2], err[3])
                    if err[5]:
                        seg("CTX", ["CLM01", err[5]])
                    for elem in err[4]:
                        seg("IK4", elem[0], elem[1], elem[2], elem[3])
                seg("IK5", s["status"], *s.get("codes", []))
                accepted += s["status"] in ("A", "E")
            seg("AK9", group_status, str(len(sets)), str(len(sets)), str(accepted))
    return out.getvalue()


def build_ta1(acks: Sequence[tuple[str, str, str]], *, control: Counter | None = None) -> str:
    """One interchange per TA1: (acknowledged ISA13, TA104, TA105)."""
    out = io.StringIO()
    writer = X12Writer(out, control_numbers=control or Counter(), now=NOW)
    for isa13, status, note in acks:
        with writer.interchange(sender=("ZZ", "CLEARINGHOUSE"), receiver=("ZZ", "DEMOPRACTICE")):
            writer.write("TA1", [isa13, "250303", "0915", status, note])
    return out.getvalue()


@dataclass
class AckClaim:
    pcn: str
    stc: list[tuple[list[str], str, Decimal, str]]  # (category:status:entity, action, charge, msg)
    icn: str = ""
    date: str = "20250210"
    lines: list[tuple[str, list[str], str]] = field(default_factory=list)  # code, stc, action
    patient: tuple[str, str, str] = ("DOE", "JANE", "W100")


def build_277ca(
    claims: Sequence[AckClaim], *, source: str = "PR", control: Counter | None = None
) -> str:
    out = io.StringIO()
    with interchange(out, gs01="HN", version="005010X214", control=control) as gs:
        with gs.transaction("277") as st:
            seg = st.segment
            seg("BHT", "0085", "08", "ACK0001", "20250303", "0930", "TH")
            seg("HL", "1", None, "20", "1")
            seg("NM1", source, "2", "NORTHWIND HEALTH", None, None, None, None, "PI", "NWH01")
            seg("TRN", "1", "ACK0001")
            seg("DTP", "050", "D8", "20250302")
            seg("DTP", "009", "D8", "20250303")
            seg("HL", "2", "1", "21", "1")
            seg("NM1", "41", "2", "DEMO PRACTICE LLC", None, None, None, None, "46", "DEMO01")
            seg("TRN", "2", "BATCH0001")
            seg(
                "STC", ["A1", "19", "PR"], "20250303", "WQ", money(sum(c.stc[0][2] for c in claims))
            )
            seg("HL", "3", "2", "19", "1")
            seg("NM1", "85", "2", "DEMO PRACTICE LLC", None, None, None, None, "XX", "1234567893")
            seg("TRN", "1", "PROV0001")  # 2200C provider of service trace
            seg("STC", ["A1", "19", "85"], None, "WQ", money(sum(c.stc[0][2] for c in claims)))
            hl = 3
            for c in claims:
                hl += 1
                seg("HL", str(hl), "3", "PT")
                seg(
                    "NM1",
                    "QC",
                    "1",
                    c.patient[0],
                    c.patient[1],
                    None,
                    None,
                    None,
                    "MI",
                    c.patient[2],
                )
                seg("TRN", "2", c.pcn)
                for composite, action, charge, message in c.stc:
                    extra: list[Any] = [None] * 7 + [message] if message else []
                    seg("STC", composite, "20250303", action, money(charge), *extra)
                if c.icn:
                    seg("REF", "1K", c.icn)
                seg("DTP", "472", "D8", c.date)
                for code, composite, action in c.lines:
                    seg("SVC", ["HC", code], "100", None, None, None, None, "1")
                    seg("STC", composite, "20250303", action)
                    seg("DTP", "472", "D8", c.date)
    return out.getvalue()


@dataclass
class StatusClaim:
    """One 2200D/2200E answer of a 277 (005010X212)."""

    trace: str
    pcn: str
    stc: list[str]  # category, status[, entity]
    charge: Decimal
    paid: Decimal | None = None
    adjudicated: str = ""
    paid_on: str = ""
    check: str = ""
    icn: str = ""
    dates: tuple[str, str] = ("20250210", "20250210")
    subscriber: tuple[str, str, str] = ("DOE", "JANE", "W100")
    dependent: tuple[str, str] | None = None
    lines: list[tuple[str, Decimal, Decimal, list[str]]] = field(default_factory=list)


def build_277(
    claims: Sequence[StatusClaim],
    *,
    receiver_status: list[str] | None = None,
    control: Counter | None = None,
) -> str:
    """A 277 claim status response: payer, receiver (with its own STC when given), provider,
    then a subscriber (and dependent) level per claim."""
    out = io.StringIO()
    with interchange(out, gs01="HN", version="005010X212", control=control) as gs:
        with gs.transaction("277") as st:
            seg = st.segment
            seg("BHT", "0010", "08", "REQ0001", "20250303", "0930", "DG")
            seg("HL", "1", None, "20", "1")
            seg("NM1", "PR", "2", "NORTHWIND HEALTH", None, None, None, None, "PI", "NWH01")
            seg("HL", "2", "1", "21", "1")
            seg("NM1", "41", "2", "DEMO PRACTICE LLC", None, None, None, None, "46", "DEMO01")
            if receiver_status:
                seg("TRN", "2", "REQ0001")
                seg("STC", receiver_status, "20250303")
            seg("HL", "3", "2", "19", "1")
            seg("NM1", "1P", "2", "DEMO PRACTICE LLC", None, None, None, None, "XX", "1234567893")
            hl = 3
            for c in claims:
                hl += 1
                seg("HL", str(hl), "3", "22", "1" if c.dependent else "0")
                last, first, member = c.subscriber
                seg("NM1", "IL", "1", last, first, None, None, None, "MI", member)
                if c.dependent:
                    hl += 1
                    seg("HL", str(hl), str(hl - 1), "23")
                    seg("NM1", "QC", "1", *c.dependent)
                seg("TRN", "2", c.trace)
                amounts = [money(c.charge), money(c.paid) if c.paid is not None else None]
                seg("STC", c.stc, "20250303", None, *amounts, c.adjudicated or None, None,
                    c.paid_on or None, c.check or None)  # fmt: skip
                if c.icn:
                    seg("REF", "1K", c.icn)
                seg("REF", "EJ", c.pcn)
                start, end = c.dates
                if start == end:
                    seg("DTP", "472", "D8", start)
                else:
                    seg("DTP", "472", "RD8", f"{start}-{end}")
                for code, charge, paid, composite in c.lines:
                    seg("SVC", ["HC", code], money(charge), money(paid), None, None, None, "1")
                    seg("STC", composite, "20250303")
                    seg("DTP", "472", "D8", start)
    return out.getvalue()
