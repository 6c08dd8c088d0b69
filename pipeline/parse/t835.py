"""835 Health Care Claim Payment/Advice (005010X221A1) -> typed remittance records.

One pass over the reader's segments; each segment id dispatches through a dict to a
small method. Completed records go to ``out`` in file order:

* :class:`RemitClaim` (2100 CLP with its :class:`RemitServiceLine` 2110 loops and the
  claim- and line-level :class:`RemitAdjustment` CAS triplets attached),
* :class:`RemitProviderAdjustment` (one per PLB reason/amount pair),
* :class:`RemitPayment` (at SE, when the payment's totals are known),
* :class:`~pipeline.x12.problems.Problem` rows for every line, claim and payment
  that does not balance (DOMAIN.md §7.7) -- balancing is data, never an exception.

Amounts are exact ``Decimal``. A ``CLP02=22`` reversal is linked to its original
(``reversal_of_claim_key``: an earlier claim of this file, or ``known_claims``) and
to the corrected claim that follows it in the same payment (``corrected_by_claim_key``).
Claims after an unpaired reversal are held back until the correction arrives, so
records keep file order; past :data:`HOLD_LIMIT` claims only the reversal waits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from pipeline.parse.common import Money, iso_date
from pipeline.x12.problems import Problem
from pipeline.x12.segments import Segment

__all__ = [
    "HOLD_LIMIT",
    "Remit835Parser",
    "RemitAdjustment",
    "RemitClaim",
    "RemitPayment",
    "RemitProviderAdjustment",
    "RemitServiceLine",
]

HOLD_LIMIT = 10_000
_ZERO = Decimal(0)
_ONE = Decimal(1)
_CAS_TRIPLETS = (2, 5, 8, 11, 14, 17)
_PLB_PAIRS = (3, 5, 7, 9, 11, 13)
_PAD = [""] * 32


@dataclass(slots=True)
class RemitAdjustment:
    """One CAS reason/amount/quantity triplet (2100 claim level or 2110 line level)."""

    claim_key: str
    line_control_number: str
    line_number: int | None
    level: str  # claim | line
    group_code: str
    reason_code: str
    amount: Decimal | None
    quantity: Decimal | None


@dataclass(slots=True)
class RemitServiceLine:
    """Loop 2110: SVC with its dates, REF*6R, AMT*B6, LQ*HE remarks and CAS."""

    claim_key: str
    line_number: int
    procedure_qualifier: str
    procedure_code: str
    modifiers: str  # comma-separated SVC01-3..6
    revenue_code: str
    charge_amount: Decimal | None
    paid_amount: Decimal | None
    units: Decimal | None
    original_procedure_code: str = ""  # SVC06-2: what was billed, when the payer changed it
    original_modifiers: str = ""
    original_units: Decimal | None = None
    line_control_number: str = ""
    allowed_amount: Decimal | None = None
    service_date: str = ""
    service_date_end: str = ""
    remark_codes: str = ""  # comma-separated LQ*HE codes
    segment_number: int = 0
    adjustments: list[RemitAdjustment] = field(default_factory=list)


@dataclass(slots=True)
class RemitClaim:
    """Loop 2100: one CLP occurrence. ``claim_key`` is ``<file stem>:<ISA13>:<ST02>:<n>``."""

    claim_key: str
    source_file: str
    transaction_control_number: str
    trace_number: str
    patient_control_number: str
    claim_status_code: str
    charge_amount: Decimal | None
    paid_amount: Decimal | None
    patient_responsibility: Decimal | None
    claim_filing_indicator: str
    payer_claim_control_number: str
    place_of_service: str
    frequency_code: str
    segment_number: int = 0
    patient_last_name: str = ""
    patient_first_name: str = ""
    patient_member_id: str = ""
    insured_last_name: str = ""
    insured_first_name: str = ""
    insured_member_id: str = ""
    corrected_last_name: str = ""
    corrected_first_name: str = ""
    corrected_member_id: str = ""
    rendering_provider_id: str = ""
    service_date_start: str = ""
    service_date_end: str = ""
    received_date: str = ""
    remark_codes: str = ""  # comma-separated MOA/MIA remark codes
    interest_amount: Decimal | None = None  # AMT*I, informational (paid via PLB L6)
    reversal_of_claim_key: str = ""
    corrected_by_claim_key: str = ""
    lines: list[RemitServiceLine] = field(default_factory=list)
    adjustments: list[RemitAdjustment] = field(default_factory=list)


@dataclass(slots=True)
class RemitProviderAdjustment:
    """One PLB reason/amount pair. Positive reduces the payment, negative adds to it."""

    source_file: str
    transaction_control_number: str
    trace_number: str
    provider_id: str
    fiscal_period_date: str
    reason_code: str
    reference_id: str
    amount: Decimal | None


@dataclass(slots=True)
class RemitPayment:
    """Header of one 835 transaction set: BPR, TRN, 1000A payer, 1000B payee."""

    source_file: str
    interchange_control_number: str
    group_control_number: str
    transaction_control_number: str
    payer_name: str = ""
    payer_id: str = ""
    payee_name: str = ""
    payee_npi: str = ""
    payee_tax_id: str = ""
    handling_code: str = ""
    payment_method: str = ""
    credit_debit: str = ""
    payment_amount: Decimal | None = None
    payment_date: str = ""
    trace_number: str = ""
    originator_id: str = ""  # TRN03: 1 + payer EIN
    production_date: str = ""
    claim_count: int = 0
    total_paid: Decimal = _ZERO
    provider_adjustment_total: Decimal = _ZERO


class Remit835Parser:
    """Feeds on the segments of 835 transaction sets; appends records to ``out``.

    ``known_claims`` maps a payer claim control number (CLP07) or a patient control
    number to the claim_key of an original claim posted earlier; ``remember`` bounds
    how many of this file's claims are kept for in-file reversal lookups (``None``:
    all of them; the streaming Parquet writer uses a bound to keep memory flat).
    """

    def __init__(
        self,
        out: list[object],
        *,
        stem: str,
        known_claims: Mapping[str, str] | None = None,
        remember: int | None = None,
    ) -> None:
        self.out = out
        self.stem = stem
        self.known = known_claims or {}
        self.remember = remember
        self.money = Money(out)  # problems share the record stream
        self.seen_icn: dict[str, str] = {}
        self.seen_pcn: dict[str, str] = {}
        self.payment = RemitPayment("", "", "", "")
        self.claim: RemitClaim | None = None
        self.line: RemitServiceLine | None = None
        self.loop = "header"
        self.prefix = ""
        self.adjusted = self.patient = _ZERO  # running CAS totals of the open claim
        self.line_adjusted: list[Decimal] = []
        self.pending: dict[str, RemitClaim] = {}  # PCN -> reversal awaiting its correction
        self.held: list[object] = []
        self.dispatch: dict[str, Callable[[Segment], None]] = {
            "BPR": self._bpr, "TRN": self._trn, "DTM": self._dtm, "N1": self._n1,
            "REF": self._ref, "LX": self._lx, "CLP": self._clp, "CAS": self._cas,
            "NM1": self._nm1, "MIA": self._mia, "MOA": self._moa, "AMT": self._amt,
            "SVC": self._svc, "LQ": self._lq, "PLB": self._plb,
        }  # fmt: skip

    # -- driver interface ---------------------------------------------------------
    def start(self, seg: Segment) -> None:
        env = seg.envelope
        self.payment = RemitPayment(
            env.source, env.interchange_control_number, env.group_control_number,
            env.transaction_control_number,
        )  # fmt: skip
        self.prefix = (
            f"{self.stem}:{env.interchange_control_number}:{env.transaction_control_number}:"
        )
        self.claim = self.line = None
        self.loop = "header"

    def feed(self, seg: Segment) -> None:
        handler = self.dispatch.get(seg.elements[0])
        if handler is not None:
            handler(seg)

    def end(self, seg: Segment) -> None:
        self._close_claim()
        self._flush(force=True)
        self._check_payment(seg)
        self.out.append(self.payment)

    def finish(self) -> None:
        self._flush(force=True)

    # -- header -------------------------------------------------------------------
    def _bpr(self, seg: Segment) -> None:
        p = self.payment
        p.handling_code, p.credit_debit, p.payment_method = seg[1], seg[3], seg[4]
        p.payment_amount = self.money(seg[2], seg, "BPR02")
        p.payment_date = iso_date(seg[16])

    def _trn(self, seg: Segment) -> None:
        if self.loop == "header":
            self.payment.trace_number, self.payment.originator_id = seg[2], seg[3]

    def _n1(self, seg: Segment) -> None:
        p, code = self.payment, seg[1]
        if code == "PR":
            self.loop = "1000A"
            p.payer_name = seg[2]
            if seg[4]:
                p.payer_id = seg[4]
        elif code == "PE":
            self.loop = "1000B"
            p.payee_name = seg[2]
            if seg[3] == "XX":
                p.payee_npi = seg[4]
            elif seg[3] == "FI":
                p.payee_tax_id = seg[4]
        else:
            self.loop = "1000"

    def _lx(self, seg: Segment) -> None:
        self._close_claim()
        self.loop = "2000"

    # -- 2100 claim ---------------------------------------------------------------
    def _clp(self, seg: Segment) -> None:
        self._close_claim()
        p, money = self.payment, self.money
        p.claim_count += 1
        e = _padded(seg.elements, 10)
        self.adjusted = self.patient = _ZERO
        self.line_adjusted = []
        claim = RemitClaim(
            self.prefix + str(p.claim_count), p.source_file, p.transaction_control_number,
            p.trace_number, e[1], e[2], money(e[3], seg, "CLP03"), money(e[4], seg, "CLP04"),
            money(e[5], seg, "CLP05"), e[6], e[7], e[8], e[9], seg.number,
        )  # fmt: skip
        if claim.paid_amount is not None:
            p.total_paid += claim.paid_amount
        self.claim, self.line, self.loop = claim, None, "2100"
        self._pair(claim)

    def _cas(self, seg: Segment) -> None:
        claim = self.claim
        if claim is None:
            return
        line, money, cached = self.line, self.money, self.money.cache.get
        e = seg.elements
        size = len(e)
        group = e[1] if size > 1 else ""
        if line is None:
            target, level, number = claim.adjustments, "claim", None
        else:
            target, level, number = line.adjustments, "line", line.line_number
        key = claim.claim_key
        added = _ZERO
        for i in _CAS_TRIPLETS:
            if i >= size:
                break
            reason = e[i]
            if reason:
                text = e[i + 1] if i + 1 < size else ""
                amount = cached(text) or money(text, seg, "CAS")
                quantity = e[i + 2] if i + 2 < size else ""
                target.append(
                    RemitAdjustment(
                        key, "", number, level, group, reason, amount,
                        money(quantity, seg, "CAS") if quantity else None,
                    )
                )  # fmt: skip
                if amount is not None:
                    added += amount
        # Running totals, so closing the claim needs no second pass over its CAS.
        self.adjusted += added
        if group == "PR":
            self.patient += added
        if line is not None:
            self.line_adjusted[-1] += added

    def _nm1(self, seg: Segment) -> None:
        claim = self.claim
        if claim is None or self.line is not None:
            return
        e = _padded(seg.elements, 10)
        code = e[1]
        if code == "QC":
            claim.patient_last_name, claim.patient_first_name, claim.patient_member_id = (
                e[3],
                e[4],
                e[9],
            )
        elif code == "IL":
            claim.insured_last_name, claim.insured_first_name, claim.insured_member_id = (
                e[3],
                e[4],
                e[9],
            )
        elif code == "74":
            claim.corrected_last_name, claim.corrected_first_name = e[3], e[4]
            claim.corrected_member_id = e[9]
        elif code == "82":
            claim.rendering_provider_id = e[9]

    def _mia(self, seg: Segment) -> None:
        self._claim_remarks(seg, (5, 20, 21, 22, 23))

    def _moa(self, seg: Segment) -> None:
        self._claim_remarks(seg, (3, 4, 5, 6, 7))

    def _claim_remarks(self, seg: Segment, positions: tuple[int, ...]) -> None:
        if self.claim is None:
            return
        codes = [seg[i] for i in positions if seg[i]]
        if codes:
            self.claim.remark_codes = _join(self.claim.remark_codes, codes)

    def _dtm(self, seg: Segment) -> None:
        e = _padded(seg.elements, 3)
        qualifier, text = e[1], e[2]
        day = f"{text[:4]}-{text[4:6]}-{text[6:]}" if len(text) == 8 and text.isdigit() else text
        line, claim = self.line, self.claim
        if line is not None:
            if qualifier == "472":
                line.service_date = line.service_date_end = day
            elif qualifier == "150":
                line.service_date = day
            elif qualifier == "151":
                line.service_date_end = day
        elif claim is not None:
            if qualifier == "232":
                claim.service_date_start = day
            elif qualifier == "233":
                claim.service_date_end = day
            elif qualifier == "050":
                claim.received_date = day
        elif qualifier == "405":
            self.payment.production_date = day

    def _ref(self, seg: Segment) -> None:
        e = _padded(seg.elements, 3)
        qualifier = e[1]
        if self.line is not None:
            if qualifier == "6R":
                self.line.line_control_number = e[2]
        elif self.loop == "1000A" and qualifier == "2U" and not self.payment.payer_id:
            self.payment.payer_id = e[2]
        elif self.loop == "1000B" and qualifier == "TJ":
            self.payment.payee_tax_id = e[2]

    def _amt(self, seg: Segment) -> None:
        e = _padded(seg.elements, 3)
        qualifier = e[1]
        if self.line is not None:
            if qualifier == "B6":
                self.line.allowed_amount = self.money(e[2], seg, "AMT02")
        elif self.claim is not None and qualifier == "I":
            self.claim.interest_amount = self.money(e[2], seg, "AMT02")

    # -- 2110 service line ----------------------------------------------------------
    def _svc(self, seg: Segment) -> None:
        claim = self.claim
        if claim is None:
            return
        money, cached = self.money, self.money.cache.get
        e = _padded(seg.elements, 8)
        component = seg.envelope.delimiters.component
        billed = e[1].split(component)
        billed += _PAD[: 2 - len(billed)] if len(billed) < 2 else ()
        units = money(e[5], seg, "SVC05") if e[5] else _ONE  # absent = one unit
        line = RemitServiceLine(
            claim.claim_key, len(claim.lines) + 1, billed[0], billed[1],
            ",".join([m for m in billed[2:6] if m]) if len(billed) > 2 else "", e[4],
            cached(e[2]) or money(e[2], seg, "SVC02"), cached(e[3]) or money(e[3], seg, "SVC03"),
            units,
        )  # fmt: skip
        line.segment_number = seg.number
        if e[6]:
            original = e[6].split(component)
            line.original_procedure_code = original[1] if len(original) > 1 else ""
            line.original_modifiers = ",".join(m for m in original[2:6] if m)
        if e[7]:
            line.original_units = money(e[7], seg, "SVC07")
        claim.lines.append(line)
        self.line_adjusted.append(_ZERO)
        self.line = line

    def _lq(self, seg: Segment) -> None:
        if self.line is not None and seg[1] == "HE" and seg[2]:
            self.line.remark_codes = _join(self.line.remark_codes, [seg[2]])

    # -- PLB ------------------------------------------------------------------------
    def _plb(self, seg: Segment) -> None:
        self._close_claim()
        self.loop = "PLB"
        p, money = self.payment, self.money
        component = seg.envelope.delimiters.component
        for i in _PLB_PAIRS:
            if not seg[i] and not seg[i + 1]:
                continue
            reason, _, reference = seg[i].partition(component)
            amount = money(seg[i + 1], seg, f"PLB{i + 1:02d}")
            if amount is not None:
                p.provider_adjustment_total += amount
            self.out.append(
                RemitProviderAdjustment(
                    p.source_file, p.transaction_control_number, p.trace_number, seg[1],
                    iso_date(seg[2]), reason, reference, amount,
                )
            )  # fmt: skip

    # -- claim completion, balancing, reversal pairing --------------------------------
    def _close_claim(self) -> None:
        claim = self.claim
        if claim is None:
            return
        self.claim = self.line = None
        for line, adjusted in zip(claim.lines, self.line_adjusted, strict=True):
            ref = line.line_control_number
            if ref:
                for adj in line.adjustments:
                    adj.line_control_number = ref
            charge, paid = line.charge_amount, line.paid_amount
            if charge is not None and paid is not None and charge - adjusted != paid:
                self._balance_line(claim, line, adjusted)
        if not claim.service_date_start and claim.lines:
            dates = [
                d for line in claim.lines for d in (line.service_date, line.service_date_end) if d
            ]
            if dates:
                claim.service_date_start = min(dates)
                claim.service_date_end = claim.service_date_end or max(dates)
        self._balance_claim(claim, self.adjusted, self.patient)
        if self.pending or self.held:
            self.held.append(claim)
            if len(self.held) > HOLD_LIMIT:
                self._flush(force=False)
        else:
            self.out.append(claim)

    def _pair(self, claim: RemitClaim) -> None:
        pcn, icn = claim.patient_control_number, claim.payer_claim_control_number
        if claim.claim_status_code == "22":
            original = (
                (self.seen_icn.get(icn) if icn else None)
                or self.known.get(icn)
                or self.seen_pcn.get(pcn)
                or self.known.get(pcn)
            )
            claim.reversal_of_claim_key = original or ""
            self.pending[pcn] = claim
            return
        reversal = self.pending.pop(pcn, None)
        if reversal is not None:
            reversal.corrected_by_claim_key = claim.claim_key
        self._remember(pcn, icn, claim.claim_key)

    def _remember(self, pcn: str, icn: str, key: str) -> None:
        limit = self.remember
        if limit is not None and len(self.seen_pcn) >= limit:
            # Bounded memory for huge files: forget the oldest half (dicts keep order).
            for table in (self.seen_pcn, self.seen_icn):
                for old in list(table)[: len(table) // 2]:
                    del table[old]
        self.seen_pcn[pcn] = key
        if icn:
            self.seen_icn[icn] = key

    def _flush(self, *, force: bool) -> None:
        if not self.held:
            return
        if force:
            self.pending.clear()
        if not self.pending:
            self.out.extend(self.held)
            self.held.clear()
            return
        waiting = set(map(id, self.pending.values()))
        self.out.extend(c for c in self.held if id(c) not in waiting)
        self.held = [c for c in self.held if id(c) in waiting]

    def _balance_line(self, claim: RemitClaim, line: RemitServiceLine, adjusted: Decimal) -> None:
        charge, paid = line.charge_amount or _ZERO, line.paid_amount or _ZERO
        ref = line.line_control_number or str(line.line_number)
        self._problem(
            "line", f"{claim.claim_key}/{line.line_number}", "line_balance", charge - adjusted,
            paid, f"claim {claim.patient_control_number} line {ref}: SVC02 {charge} - CAS "
            f"{adjusted} = {charge - adjusted}, SVC03 is {paid}", line.segment_number, "SVC",
        )  # fmt: skip

    def _balance_claim(self, claim: RemitClaim, adjusted: Decimal, patient: Decimal) -> None:
        charge, paid = claim.charge_amount, claim.paid_amount
        if charge is not None and paid is not None and charge - adjusted != paid:
            self._problem(
                "claim", claim.claim_key, "claim_balance", charge - adjusted, paid,
                f"claim {claim.patient_control_number}: CLP03 {charge} - CAS {adjusted} = "
                f"{charge - adjusted}, CLP04 is {paid}", claim.segment_number, "CLP",
            )  # fmt: skip
        responsibility = claim.patient_responsibility
        if responsibility is None:
            return
        if patient != responsibility:
            self._problem(
                "claim", claim.claim_key, "patient_responsibility", patient, responsibility,
                f"claim {claim.patient_control_number}: PR adjustments total {patient}, "
                f"CLP05 is {responsibility}", claim.segment_number, "CLP", severity="warning",
            )  # fmt: skip

    def _check_payment(self, seg: Segment) -> None:
        p = self.payment
        if p.payment_amount is None:
            return
        expected = p.total_paid - p.provider_adjustment_total
        if expected != p.payment_amount:
            self._problem(
                "transaction", p.transaction_control_number, "transaction_balance", expected,
                p.payment_amount, f"payment {p.trace_number}: CLP04 total {p.total_paid} - PLB "
                f"{p.provider_adjustment_total} = {expected}, BPR02 is {p.payment_amount}",
                seg.number, "SE",
            )  # fmt: skip

    def _problem(
        self, level: str, key: str, rule: str, expected: Decimal, actual: Decimal, message: str,
        number: int, segment_id: str, severity: str = "error",
    ) -> None:  # fmt: skip
        p = self.payment
        self.out.append(
            Problem(
                p.source_file, p.transaction_control_number, level, key, rule, str(expected),
                str(actual), message, segment_number=number, segment_id=segment_id,
                loop={"line": "2110", "claim": "2100"}.get(level, ""), severity=severity,
            )
        )  # fmt: skip


def _padded(elements: list[str], size: int) -> list[str]:
    """The element list, padded with "" so positions below ``size`` can be indexed."""
    missing = size - len(elements)
    return elements + _PAD[:missing] if missing > 0 else elements


def _join(existing: str, codes: list[str]) -> str:
    return ",".join([existing, *codes]) if existing else ",".join(codes)
