"""The response writers: TA1, 999, 277CA and 835 (the 271 is in :mod:`.eligibility`).

Every writer takes a fixed ``now`` (from the inbound file, never the wall clock) and the
simulator's own control-number counter, and returns the file's text.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from pipeline.clearinghouse.model import InquiryBatch, StatusBatch, Submission
from pipeline.clearinghouse.plans import PlanDesign
from pipeline.clearinghouse.results import ClaimResult, FrontEnd, LineResult, Payment
from pipeline.x12.segments import Delimiters
from pipeline.x12.writer import (
    ControlNumbers,
    Element,
    InterchangeWriter,
    TransactionWriter,
    X12Writer,
)

__all__ = [
    "CLEARINGHOUSE_NAME",
    "Block",
    "Envelope",
    "SegmentMemo",
    "Write",
    "amount",
    "write_277ca",
    "write_835",
    "write_999",
    "write_ta1",
]

CLEARINGHOUSE_NAME = "CLAIMFLOW EMBEDDED CLEARINGHOUSE"
Write = Callable[..., None]


@functools.lru_cache(maxsize=8192)  # the same few amounts, on ~20 segments a claim
def amount(value: Decimal) -> str:
    """X12 R type: no trailing zeros, no plus sign (``150``, ``-12.5``, ``0``)."""
    text = f"{value.quantize(Decimal('0.01')):f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


class _Writer(X12Writer):
    """:class:`X12Writer` with a fast path for the default delimiters (the only ones the
    simulator writes): a join and a delimiter scan per segment instead of a check per value,
    which was most of the simulator's CPU. Any doubt (a delimiter inside a value) goes to the
    generic writer, which refuses the value naming its field."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plain = self.delimiters == _DEFAULT

    def write(self, tag: str, elements: Sequence[Element]) -> None:
        if not self._plain:
            super().write(tag, elements)
            return
        values = [element or "" for element in elements]
        try:
            body = "".join(values)  # type: ignore[arg-type]
        except TypeError:  # a composite or repeated element (one or two a claim)
            super().write(tag, elements)
            return
        if "*" in body or "~" in body or ":" in body or "^" in body:
            super().write(tag, elements)
            return
        # Trailing empty elements are dropped, as the generic writer does.
        text = "*".join([tag, *values]).rstrip("*")  # type: ignore[list-item]
        self.out.write(text + "~" + self.newline)


_DEFAULT = Delimiters()


class Block:
    """Segments that come out the same in every transaction set (a plan's prior-auth list):
    rendered once, then copied in with their count, so SE01 stays right."""

    def __init__(self, build: Callable[[Write], None]) -> None:
        self._calls: list[tuple[str, tuple[Element, ...]]] = []
        build(lambda tag, *elements: self._calls.append((tag, elements)))
        self._text: str | None = None

    def write_to(self, st: TransactionWriter) -> None:
        if self._text is None:
            self._text = _render(st, self._calls)
        st.writer.out.write(self._text)
        st.count += len(self._calls)


class SegmentMemo:
    """Segments that repeat across a file's transaction sets (the payer, the provider, a
    tier's benefit amounts), each formatted once per file. Only for segments of plain,
    hashable elements whose kind (a repeated element, a composite) is fixed by the call."""

    def __init__(self) -> None:
        self._texts: dict[tuple[str, ...], str] = {}

    def writer(self, st: TransactionWriter) -> Write:
        def write(tag: str, *elements: Element) -> None:
            key = (tag, *elements)
            text = self._texts.get(key)  # type: ignore[arg-type]
            if text is None:
                text = self._texts[key] = _render(st, [(tag, elements)])  # type: ignore[index]
            st.writer.out.write(text)
            st.count += 1

        return write


def _render(st: TransactionWriter, calls: list[tuple[str, tuple[Element, ...]]]) -> str:
    """The text ``calls`` give in ``st``'s interchange (its delimiters, its newline)."""
    like = st.writer
    out = io.StringIO()
    writer = _Writer(
        out,
        control_numbers=like.control_numbers,
        delimiters=like.delimiters,
        newline=bool(like.newline),
    )
    for tag, elements in calls:
        writer.write(tag, elements)
    return out.getvalue()


class Envelope:
    """Sender/receiver ids and the fixed clock for one response file."""

    def __init__(
        self,
        control_numbers: ControlNumbers,
        *,
        sender: str,
        receiver: str,
        now: dt.datetime,
        usage: str = "P",
    ) -> None:
        self.control_numbers = control_numbers
        self.sender = sender
        self.receiver = receiver
        self.now = now
        self.usage = usage

    @contextmanager
    def interchange(
        self, out: io.StringIO, now: dt.datetime | None = None
    ) -> Iterator[InterchangeWriter]:
        writer = _Writer(out, control_numbers=self.control_numbers, now=now or self.now)
        with writer.interchange(
            sender=("ZZ", self.sender[:15]), receiver=("ZZ", self.receiver[:15]), usage=self.usage
        ) as isa:
            yield isa


def write_ta1(
    envelope: Envelope,
    submission: Submission | InquiryBatch | StatusBatch,
    status: str = "A",
    note: str = "000",
) -> str:
    out = io.StringIO()
    with envelope.interchange(out) as isa:
        isa.writer.write(
            "TA1",
            [
                submission.interchange_control_number,
                f"{submission.interchange_date:%y%m%d}",
                submission.interchange_time,
                status,
                note,
            ],
        )
    return out.getvalue()


def write_999(envelope: Envelope, submission: Submission) -> str:
    """One AK2/IK5 per transaction set received; all accepted (syntax was readable)."""
    out = io.StringIO()
    count = len(submission.transactions)
    with (
        envelope.interchange(out) as isa,
        isa.group("FA", envelope.sender, envelope.receiver, "005010X231A1") as gs,
        gs.transaction("999") as st,
    ):
        st.segment("AK1", "HC", submission.group_control_number, "005010X222A1")
        for control_number, _ in submission.transactions:
            st.segment("AK2", "837", control_number, "005010X222A1")
            st.segment("IK5", "A")
        st.segment("AK9", "A", str(count), str(count), str(count))
    return out.getvalue()


def write_277ca(
    envelope: Envelope, submission: Submission, verdicts: list[FrontEnd], batch_id: str
) -> str:
    """One 277CA for the submission: submitter totals, provider totals, a status per claim."""
    out = io.StringIO()
    day = f"{envelope.now:%Y%m%d}"
    accepted = [v for v in verdicts if v.accepted]
    rejected = [v for v in verdicts if not v.accepted]
    with (
        envelope.interchange(out) as isa,
        isa.group("HN", envelope.sender, envelope.receiver, "005010X214") as gs,
        gs.transaction("277") as st,
    ):
        st.segment("BHT", "0085", "08", batch_id, day, f"{envelope.now:%H%M}", "TH")
        st.segment("HL", "1", None, "20", "1")
        st.segment(
            "NM1", "AY", "2", CLEARINGHOUSE_NAME, None, None, None, None, "46", envelope.sender
        )
        st.segment("TRN", "1", batch_id)
        st.segment("DTP", "050", "D8", f"{submission.interchange_date:%Y%m%d}")
        st.segment("DTP", "009", "D8", day)
        st.segment("HL", "2", "1", "21", "1")
        st.segment(
            "NM1", "41", "2", submission.submitter_name or "SUBMITTER", None, None, None, None,
            "46", submission.sender_id,
        )  # fmt: skip
        st.segment("TRN", "2", submission.batch_reference or submission.interchange_control_number)
        st.segment("STC", ["A1", "19", "PR"], day, "WQ", amount(_charges(verdicts)))
        _totals(st.segment, accepted, rejected, ("90", "AA"))
        by_provider: dict[tuple[str, str], list[FrontEnd]] = {}
        for v in verdicts:
            by_provider.setdefault((v.claim.billing_npi, v.claim.billing_name), []).append(v)
        hl = 2
        for (npi, name), group in by_provider.items():
            hl += 1
            provider_hl = hl
            st.segment("HL", str(provider_hl), "2", "19", "1")
            st.segment(
                "NM1", "85", "2", name or "BILLING PROVIDER", None, None, None, None, "XX",
                npi or "1234567893",
            )  # fmt: skip
            st.segment("TRN", "1", f"{batch_id}P{provider_hl}")
            st.segment("STC", ["A1", "19", "PR"], None, "WQ", amount(_charges(group)))
            accepted_here = [v for v in group if v.accepted]
            rejected_here = [v for v in group if not v.accepted]
            _totals(st.segment, accepted_here, rejected_here, ("QA", "QC"))
            for v in group:
                hl += 1
                claim = v.claim
                st.segment("HL", str(hl), str(provider_hl), "PT")
                last, first = claim.patient_name
                st.segment("NM1", "QC", "1", last, first, None, None, None, "MI", claim.member_id)
                st.segment("TRN", "2", claim.pcn)
                action = "WQ" if v.accepted else "U"
                status = [v.category, v.status, v.entity] if v.entity else [v.category, v.status]
                st.segment("STC", status, day, action, amount(claim.total_charge))
                if v.accepted:
                    st.segment("REF", "1K", v.icn)
                st.segment("REF", "D9", f"{batch_id}{hl:04d}")
                start, end = claim.service_date, claim.service_date_end
                if start == end:
                    st.segment("DTP", "472", "D8", f"{start:%Y%m%d}")
                else:
                    st.segment("DTP", "472", "RD8", f"{start:%Y%m%d}-{end:%Y%m%d}")
                if not v.accepted and v.line_number:
                    line = next(ln for ln in claim.lines if ln.line_number == v.line_number)
                    st.segment(
                        "SVC", ["HC", line.procedure_code, *line.modifiers], amount(line.charge),
                        None, None, None, None, amount(line.units),
                    )  # fmt: skip
                    st.segment("STC", [v.category, v.status], day, "U")
                    if line.line_control_number:
                        st.segment("REF", "FJ", line.line_control_number)
                    st.segment("DTP", "472", "D8", f"{line.service_date:%Y%m%d}")
    return out.getvalue()


def _charges(verdicts: list[FrontEnd]) -> Decimal:
    return sum((v.claim.total_charge for v in verdicts), Decimal("0"))


def _totals(
    write: Write, accepted: list[FrontEnd], rejected: list[FrontEnd], qualifiers: tuple[str, str]
) -> None:
    if accepted:
        write("QTY", qualifiers[0], str(len(accepted)))
    if rejected:
        write("QTY", qualifiers[1], str(len(rejected)))
    if accepted:
        write("AMT", "YU", amount(_charges(accepted)))
    if rejected:
        write("AMT", "YY", amount(_charges(rejected)))


def write_835(
    envelope: Envelope, payment: Payment, plan: PlanDesign, payee: tuple[str, str, str]
) -> str:
    """One payer payment: BPR/TRN, payer and payee, a CLP loop per claim, PLB, balanced."""
    out = io.StringIO()
    now = dt.datetime.combine(payment.date, envelope.now.time())
    name, npi, tin = payee
    with (
        envelope.interchange(out, now) as isa,
        isa.group("HP", plan.payer_id, envelope.receiver, "005010X221A1") as gs,
        gs.transaction("835") as st,
    ):
        st.segment("BPR", *_bpr(payment, plan))
        st.segment("TRN", "1", payment.trace, plan.payer_ein)
        st.segment("DTM", "405", f"{payment.date:%Y%m%d}")
        st.segment("N1", "PR", plan.payer_name)
        street, city, state, zip_code = plan.address
        st.segment("N3", street)
        st.segment("N4", city, state, zip_code)
        st.segment("REF", "2U", plan.payer_id)
        st.segment("PER", "BL", "EDI SUPPORT", "TE", "8005550100")
        st.segment("N1", "PE", name, "XX", npi)
        if tin:
            st.segment("REF", "TJ", tin)
        st.segment("LX", "1")
        for claim in payment.claims:
            _clp(st.segment, claim, plan)
        if payment.adjustments:
            pairs: list[object] = []
            for adj in payment.adjustments:
                pairs.extend([[adj.code, adj.reference], amount(adj.amount)])
            st.segment("PLB", npi, f"{payment.date.year}1231", *pairs)  # type: ignore[arg-type]
    return out.getvalue()


# CLP06 codes of the 835 guide (SBR09's CI and BL are not among them).
_CLP06 = frozenset(
    {"12", "13", "14", "15", "16", "17", "AM", "CH", "DS", "HM", "LM", "MA", "MB", "MC", "OF",
     "TV", "VA", "WC", "ZZ"}
)  # fmt: skip
_BY_INSURANCE_TYPE = {"PR": "12", "PS": "13", "EP": "14", "HM": "HM"}


def _filing_indicator(sent: str, plan: PlanDesign) -> str:
    if sent in _CLP06:
        return sent
    if plan.claim_filing_indicator in _CLP06:
        return plan.claim_filing_indicator
    return _BY_INSURANCE_TYPE.get(plan.insurance_type, "15")


def _bpr(payment: Payment, plan: PlanDesign) -> list[str | None]:
    total = amount(payment.amount)
    day = f"{payment.date:%Y%m%d}"
    blanks: list[str | None] = [None] * 10
    if payment.amount == 0:
        return ["H", "0", "C", "NON", *blanks, None, day]
    if payment.method == "CHK":
        return ["I", total, "C", "CHK", *blanks, None, day]
    return [
        "C", total, "C", "ACH", "CCP", "01", plan.payment.routing or "011000015", "DA",
        plan.payment.account or "1000000001", plan.payer_ein, None, "01", "071000013",
        "DA", "9876543210", day,
    ]  # fmt: skip


def _clp(write: Write, result: ClaimResult, plan: PlanDesign) -> None:
    claim = result.claim
    write(
        "CLP", claim.pcn, result.status, amount(result.charge), amount(result.paid),
        amount(result.patient), _filing_indicator(claim.claim_filing_indicator, plan),
        result.icn, claim.place_of_service, claim.frequency,
    )  # fmt: skip
    last, first = claim.patient_name
    write("NM1", "QC", "1", last, first, None, None, None, "MI", claim.member_id)
    if claim.patient_last_name:  # the insured, when not the patient
        insured = (claim.last_name, claim.first_name, None, None, None, "MI", claim.member_id)
        write("NM1", "IL", "1", *insured)
    if result.received is not None:
        write("DTM", "050", f"{result.received:%Y%m%d}")
    if result.interest:
        write("AMT", "I", amount(result.interest))
    for line in result.lines:
        _svc(write, line)


def _svc(write: Write, line: LineResult) -> None:
    ln = line.line
    units = amount(ln.units)
    write(
        "SVC", ["HC", ln.procedure_code, *ln.modifiers], amount(line.charge), amount(line.paid),
        None, None if units == "1" else units,
    )  # fmt: skip
    write("DTM", "472", f"{ln.service_date:%Y%m%d}")
    by_group: dict[str, list[str]] = {}
    for adj in line.adjustments:
        by_group.setdefault(adj.group, []).extend([adj.reason, amount(adj.amount), ""])
    for group, triples in by_group.items():
        for start in range(0, len(triples), 18):  # six reason/amount/quantity triples per CAS
            chunk = triples[start : start + 18]
            write("CAS", group, *chunk)
    if ln.line_control_number:
        write("REF", "6R", ln.line_control_number)
    if not line.denied:
        write("AMT", "B6", amount(line.allowed))
    if line.rarcs:
        write("LQ", "HE", line.rarcs[0])
        for rarc in line.rarcs[1:]:
            write("LQ", "HE", rarc)
