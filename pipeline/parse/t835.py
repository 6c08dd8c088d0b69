"""835 Health Care Claim Payment/Advice (005010X221A1) -> typed remittance records.

One pass over the reader's segments; each segment id dispatches through a dict to a
small method that takes the plain element list (batches from
:func:`~pipeline.x12.reader.read_batches`, no object per segment). Claims, lines and
CAS triplets are built as rows in the table column order (:data:`ROW_COLUMNS`) and
handed to a :class:`RemitSink` in file order:

* claims (2100 CLP with its 2110 service lines and the claim- and line-level CAS
  triplets), provider adjustments (one per PLB reason/amount pair) and the payment (at
  SE, when its totals are known). The default sink, :class:`RecordSink`, turns them
  into :class:`RemitClaim` (:class:`RemitServiceLine` and :class:`RemitAdjustment`
  attached), :class:`RemitProviderAdjustment` and :class:`RemitPayment` records in
  ``out``; the table builder keeps the rows as they are.
* :class:`~pipeline.x12.problems.Problem` rows go to ``out``, for every line, claim and
  payment that does not balance (DOMAIN.md §7.7) -- balancing is data, never an exception.

Amounts are exact ``Decimal``. A ``CLP02=22`` reversal is linked to its original
(``reversal_of_claim_key``: an earlier claim of this file, or ``known_claims``) and
to the corrected claim that follows it in the same payment (``corrected_by_claim_key``).
Claims after an unpaired reversal are held back until the correction arrives, so
records keep file order; past :data:`HOLD_LIMIT` claims only the reversal waits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal
from operator import itemgetter
from typing import Any, Protocol

from pipeline.parse.common import FeedAll, iso_date, parse_decimal
from pipeline.x12.balance import claim_balance, line_balance, not_a_number, transaction_balance
from pipeline.x12.problems import Problem
from pipeline.x12.reader import SegmentBatch
from pipeline.x12.segments import Segment

__all__ = [
    "HOLD_LIMIT",
    "ROW_COLUMNS",
    "RecordSink",
    "Remit835Parser",
    "RemitAdjustment",
    "RemitClaim",
    "RemitPayment",
    "RemitProviderAdjustment",
    "RemitServiceLine",
    "RemitSink",
]

HOLD_LIMIT = 10_000
_ZERO = Decimal(0)
_ONE = Decimal(1)
_PLB_PAIRS = (3, 5, 7, 9, 11, 13)
_PAD = [""] * 32
_CACHE_LIMIT = 50_000  # distinct amount texts kept as Decimals (most amounts repeat)

# Row layouts: the DESIGN.md columns of remit_claims, remit_service_lines and
# remit_adjustments, in table order (tables.py checks they match its columns).
ROW_COLUMNS: dict[str, tuple[str, ...]] = {
    "remit_claims": (
        "claim_key", "trace_number", "patient_control_number", "claim_status_code",
        "charge_amount", "paid_amount", "patient_responsibility", "claim_filing_indicator",
        "payer_claim_control_number", "place_of_service", "frequency_code",
        "patient_last_name", "patient_first_name", "patient_member_id", "service_date_start",
        "service_date_end", "reversal_of_claim_key", "corrected_by_claim_key", "source_file",
        "transaction_control_number", "insured_last_name", "insured_first_name",
        "insured_member_id", "corrected_last_name", "corrected_first_name",
        "corrected_member_id", "rendering_provider_id", "received_date", "remark_codes",
        "interest_amount", "segment_number",
    ),
    "remit_service_lines": (
        "claim_key", "line_number", "line_control_number", "procedure_code", "modifiers",
        "charge_amount", "paid_amount", "allowed_amount", "units", "service_date",
        "original_procedure_code", "remark_codes", "procedure_qualifier", "revenue_code",
        "original_modifiers", "original_units", "service_date_end", "segment_number",
    ),
    "remit_adjustments": (
        "claim_key", "line_control_number", "level", "group_code", "reason_code", "amount",
        "quantity", "line_number",
    ),
}  # fmt: skip

# Positions in a claim row (remit_claims order).
(_KEY, _TRACE, _PCN, _STATUS, _CHARGE, _PAID, _RESPONSIBILITY, _FILING, _ICN, _POS, _FREQ,
 _PAT_LAST, _PAT_FIRST, _PAT_ID, _DATE_START, _DATE_END, _REVERSAL_OF, _CORRECTED_BY, _SOURCE,
 _TCN, _INS_LAST, _INS_FIRST, _INS_ID, _COR_LAST, _COR_FIRST, _COR_ID, _RENDERING, _RECEIVED,
 _REMARKS, _INTEREST, _CLAIM_SEGMENT) = range(31)  # fmt: skip
# Positions in a service line row (remit_service_lines order).
(_L_KEY, _L_NUMBER, _L_CONTROL, _L_CODE, _L_MODIFIERS, _L_CHARGE, _L_PAID, _L_ALLOWED, _L_UNITS,
 _L_DATE, _L_ORIGINAL_CODE, _L_REMARKS, _L_QUALIFIER, _L_REVENUE, _L_ORIGINAL_MODIFIERS,
 _L_ORIGINAL_UNITS, _L_DATE_END, _L_SEGMENT) = range(18)  # fmt: skip
_A_CONTROL = 1  # line_control_number in an adjustment row

Row = list[Any]


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


class RemitSink(Protocol):
    """Where :class:`Remit835Parser` puts what it completes (problems go to ``out``)."""

    def claim(
        self,
        claim: Row,
        adjustments: list[Row],
        lines: list[Row],
        line_adjustments: list[list[Row]],
    ) -> None:
        """One claim row, its claim-level CAS rows, its line rows and each line's CAS rows."""

    def provider_adjustment(self, record: RemitProviderAdjustment) -> None: ...

    def payment(self, record: RemitPayment) -> None: ...


def _picker(record: type, table: str) -> Callable[[Row], tuple[Any, ...]]:
    """Row -> the record's constructor arguments, in its field order."""
    columns = ROW_COLUMNS[table]
    names = [f.name for f in fields(record) if f.name not in ("lines", "adjustments")]
    return itemgetter(*(columns.index(name) for name in names))


class RecordSink:
    """Turns the parser's rows into typed records, appended to ``out`` in file order."""

    def __init__(self, out: list[object]) -> None:
        self.out = out
        self.claim_args = _picker(RemitClaim, "remit_claims")
        self.line_args = _picker(RemitServiceLine, "remit_service_lines")
        self.adjustment_args = _picker(RemitAdjustment, "remit_adjustments")

    def claim(
        self,
        claim: Row,
        adjustments: list[Row],
        lines: list[Row],
        line_adjustments: list[list[Row]],
    ) -> None:
        adjustment = self.adjustment_args
        record = RemitClaim(*self.claim_args(claim))
        record.adjustments = [RemitAdjustment(*adjustment(a)) for a in adjustments]
        for line, adjusted in zip(lines, line_adjustments, strict=True):
            item = RemitServiceLine(*self.line_args(line))
            item.adjustments = [RemitAdjustment(*adjustment(a)) for a in adjusted]
            record.lines.append(item)
        self.out.append(record)

    def provider_adjustment(self, record: RemitProviderAdjustment) -> None:
        self.out.append(record)

    def payment(self, record: RemitPayment) -> None:
        self.out.append(record)


class Remit835Parser:
    """Feeds on the segments of 835 transaction sets; hands records to ``sink``.

    ``sink`` defaults to a :class:`RecordSink` on ``out``; problems always go to
    ``out``. ``known_claims`` maps a payer claim control number (CLP07) or a patient
    control number to the claim_key of an original claim posted earlier; ``remember``
    bounds how many of this file's claims are kept for in-file reversal lookups
    (``None``: all of them; the streaming Parquet writer uses a bound to keep memory flat).
    """

    def __init__(
        self,
        out: list[object],
        *,
        stem: str,
        known_claims: Mapping[str, str] | None = None,
        remember: int | None = None,
        sink: RemitSink | None = None,
    ) -> None:
        self.out = out
        self.sink: RemitSink = sink if sink is not None else RecordSink(out)
        self.stem = stem
        self.known = known_claims or {}
        self.remember = remember
        self.cache: dict[str, Decimal] = {}  # amount text -> Decimal
        self.days: dict[str, str] = {}  # DTM date text -> ISO date
        self.seen_icn: dict[str, str] = {}
        self.seen_pcn: dict[str, str] = {}
        self.payment = RemitPayment("", "", "", "")
        self.bpr_number = 0
        # The open claim: its row, CAS rows, line rows and each line's CAS rows.
        self.claim: Row | None = None
        self.claim_adjustments: list[Row] = []
        self.lines: list[Row] = []
        self.line_adjustments: list[list[Row]] = []
        self.line: Row | None = None
        self.loop = "header"
        self.prefix = ""
        self.component = ":"  # of the current interchange, for SVC01/SVC06/PLB composites
        # Running CAS totals of the open claim: claim level, each line, group PR.
        self.adjusted = self.patient = _ZERO
        self.line_adjusted: list[Decimal] = []
        self.pending: dict[str, Row] = {}  # PCN -> reversal claim row awaiting its correction
        self.held: list[tuple[Row, list[Row], list[Row], list[list[Row]]]] = []
        self.on: dict[str, Callable[[list[str], int], None]] = {
            "BPR": self._bpr, "TRN": self._trn, "DTM": self._dtm, "N1": self._n1,
            "REF": self._ref, "LX": self._lx, "CLP": self._clp, "CAS": self._cas,
            "NM1": self._nm1, "MIA": self._mia, "MOA": self._moa, "AMT": self._amt,
            "SVC": self._svc, "LQ": self._lq, "PLB": self._plb,
        }  # fmt: skip
        self.dispatch = FeedAll(self.feed)

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
        self.component = env.delimiters.component
        self.claim = self.line = None
        self.loop = "header"
        self.bpr_number = seg.number  # until the BPR: where a payment imbalance is reported

    def feed(self, seg: Segment) -> None:
        handler = self.on.get(seg.elements[0])
        if handler is not None:
            handler(seg.elements, seg.number)

    def feed_batch(self, batch: SegmentBatch) -> None:
        """The hot path: a run of body segments as element lists.

        Inside a claim, the segments that only fill in the open claim or line (CAS, DTM,
        REF, AMT, NM1: four in five segments of an 835) are handled right here when they
        have their usual shape and their amount or date was seen before -- what their
        methods would do, without a call per segment. Anything else goes to its method.
        """
        get = self.on.get
        cache, days = self.cache, self.days
        claim, line = self.claim, self.line
        number = batch.first_number - 1
        for e in batch.elements:
            number += 1
            tag = e[0]
            if claim is not None:
                size = len(e)
                if tag == "CAS":
                    # One or two reason/amount pairs, no quantity (CAS*PR*45*50*2*45).
                    if size == 4 or (size == 7 and not e[4] and e[5]):
                        amount = cache.get(e[3])
                        reason = e[2]
                        if amount is not None and reason:
                            second = cache.get(e[6]) if size == 7 else None
                            if size == 4 or second is not None:
                                group = e[1]
                                if line is None:
                                    level, line_number = "claim", None
                                    target = self.claim_adjustments
                                else:
                                    level, line_number = "line", line[_L_NUMBER]
                                    target = self.line_adjustments[-1]
                                key = claim[_KEY]
                                target.append(
                                    [key, "", level, group, reason, amount, None, line_number]
                                )
                                if second is not None:
                                    target.append(
                                        [key, "", level, group, e[5], second, None, line_number]
                                    )
                                    amount += second
                                if line is None:
                                    self.adjusted += amount
                                else:
                                    self.line_adjusted[-1] += amount
                                if group == "PR":
                                    self.patient += amount
                                continue
                elif tag == "DTM":
                    day = days.get(e[2]) if size > 2 else None
                    if day is not None:
                        qualifier = e[1]
                        if line is not None:
                            if qualifier == "472":
                                line[_L_DATE] = line[_L_DATE_END] = day
                            elif qualifier == "150":
                                line[_L_DATE] = day
                            elif qualifier == "151":
                                line[_L_DATE_END] = day
                        elif qualifier == "232":
                            claim[_DATE_START] = day
                        elif qualifier == "233":
                            claim[_DATE_END] = day
                        elif qualifier == "050":
                            claim[_RECEIVED] = day
                        continue
                elif tag == "REF":
                    if size > 2:
                        if line is not None and e[1] == "6R":
                            line[_L_CONTROL] = e[2]
                        continue  # inside a claim only a line's 6R is kept
                elif tag == "AMT":
                    if size > 2 and line is not None:
                        if e[1] == "B6":
                            amount = cache.get(e[2])
                            if amount is None:
                                amount = self._money(e[2], number, "AMT", "AMT02")
                            line[_L_ALLOWED] = amount
                        continue
                elif tag == "NM1":
                    if line is not None:
                        continue
                    if size >= 10:
                        code = e[1]
                        if code == "QC":
                            claim[_PAT_LAST], claim[_PAT_FIRST], claim[_PAT_ID] = e[3], e[4], e[9]
                            continue
                        if code == "82":
                            claim[_RENDERING] = e[9]
                            continue
            handler = get(tag)
            if handler is not None:
                handler(e, number)
                claim, line = self.claim, self.line

    def end(self, seg: Segment) -> None:
        self._close_claim()
        self._flush(force=True)
        self._check_payment(seg)
        self.sink.payment(self.payment)

    def finish(self) -> None:
        self._flush(force=True)

    def close_claim(self) -> None:
        """Complete the open claim now (its segments were all fed: the next is a CLP)."""
        self._close_claim()

    # -- amounts --------------------------------------------------------------------
    def _money(self, text: str, number: int, tag: str, name: str) -> Decimal | None:
        """Decimal of an amount; invalid text gives None and a problem row."""
        value = self.cache.get(text)
        if value is not None:
            return value
        if not text:
            return None
        value = parse_decimal(text)
        if value is None:
            p = self.payment
            self.out.append(
                not_a_number(
                    p.source_file, p.transaction_control_number, p.transaction_control_number,
                    text, name, number, tag, "left empty",
                )
            )  # fmt: skip
            return None
        if len(self.cache) >= _CACHE_LIMIT:
            self.cache.clear()
        self.cache[text] = value
        return value

    # -- header -------------------------------------------------------------------
    def _bpr(self, elements: list[str], number: int) -> None:
        p, e = self.payment, _padded(elements, 17)
        p.handling_code, p.credit_debit, p.payment_method = e[1], e[3], e[4]
        p.payment_amount = self._money(e[2], number, "BPR", "BPR02")
        self.bpr_number = number
        p.payment_date = iso_date(e[16])

    def _trn(self, elements: list[str], number: int) -> None:
        if self.loop == "header":
            e = _padded(elements, 4)
            self.payment.trace_number, self.payment.originator_id = e[2], e[3]

    def _n1(self, elements: list[str], number: int) -> None:
        p, e = self.payment, _padded(elements, 5)
        code = e[1]
        if code == "PR":
            self.loop = "1000A"
            p.payer_name = e[2]
            if e[4]:
                p.payer_id = e[4]
        elif code == "PE":
            self.loop = "1000B"
            p.payee_name = e[2]
            if e[3] == "XX":
                p.payee_npi = e[4]
            elif e[3] == "FI":
                p.payee_tax_id = e[4]
        else:
            self.loop = "1000"

    def _lx(self, elements: list[str], number: int) -> None:
        self._close_claim()
        self.loop = "2000"

    # -- 2100 claim ---------------------------------------------------------------
    def _clp(self, e: list[str], number: int) -> None:
        self._close_claim()
        p, money = self.payment, self._money
        p.claim_count += 1
        if len(e) < 10:
            e = _padded(e, 10)
        self.adjusted = self.patient = _ZERO
        self.line_adjusted = []
        cached = self.cache.get
        charge = cached(e[3]) or money(e[3], number, "CLP", "CLP03")
        paid = cached(e[4]) or money(e[4], number, "CLP", "CLP04")
        claim = [
            self.prefix + str(p.claim_count), p.trace_number, e[1], e[2], charge, paid,
            cached(e[5]) or money(e[5], number, "CLP", "CLP05"),
            e[6], e[7], e[8], e[9], "", "", "", "", "", "", "", p.source_file,
            p.transaction_control_number, "", "", "", "", "", "", "", "", "", None, number,
        ]  # fmt: skip
        if paid is not None:
            p.total_paid += paid
        self.claim, self.line, self.loop = claim, None, "2100"
        self.claim_adjustments, self.lines, self.line_adjustments = [], [], []
        self._pair(claim)

    def _cas(self, e: list[str], number: int) -> None:
        claim = self.claim
        if claim is None:
            return
        line, size = self.line, len(e)
        if line is None:
            target, level, line_number = self.claim_adjustments, "claim", None
        else:
            target, level, line_number = self.line_adjustments[-1], "line", line[_L_NUMBER]
        group = e[1] if size > 1 else ""
        key, cached = claim[_KEY], self.cache.get
        added: Decimal | None = None
        i = 2
        while i < size and i < 20:  # up to 6 reason/amount/quantity triplets
            reason = e[i]
            if reason:
                text = e[i + 1] if i + 1 < size else ""
                amount = cached(text)
                if amount is None:
                    amount = self._money(text, number, "CAS", "CAS")
                quantity = None
                if i + 2 < size and e[i + 2]:
                    quantity = self._money(e[i + 2], number, "CAS", "CAS")
                target.append([key, "", level, group, reason, amount, quantity, line_number])
                if amount is not None:
                    added = amount if added is None else added + amount
            i += 3
        if added is None:
            return
        # Running totals (claim level, per line, patient), so closing the claim needs
        # no second pass over its CAS.
        if line is None:
            self.adjusted += added
        else:
            self.line_adjusted[-1] += added
        if group == "PR":
            self.patient += added

    def _nm1(self, e: list[str], number: int) -> None:
        claim = self.claim
        if claim is None or self.line is not None:
            return
        if len(e) < 10:
            e = _padded(e, 10)
        code = e[1]
        if code == "QC":
            claim[_PAT_LAST], claim[_PAT_FIRST], claim[_PAT_ID] = e[3], e[4], e[9]
        elif code == "IL":
            claim[_INS_LAST], claim[_INS_FIRST], claim[_INS_ID] = e[3], e[4], e[9]
        elif code == "74":
            claim[_COR_LAST], claim[_COR_FIRST], claim[_COR_ID] = e[3], e[4], e[9]
        elif code == "82":
            claim[_RENDERING] = e[9]

    def _mia(self, elements: list[str], number: int) -> None:
        self._claim_remarks(elements, (5, 20, 21, 22, 23))

    def _moa(self, elements: list[str], number: int) -> None:
        self._claim_remarks(elements, (3, 4, 5, 6, 7))

    def _claim_remarks(self, elements: list[str], positions: tuple[int, ...]) -> None:
        claim = self.claim
        if claim is None:
            return
        e = _padded(elements, positions[-1] + 1)
        codes = [e[i] for i in positions if e[i]]
        if codes:
            claim[_REMARKS] = _join(claim[_REMARKS], codes)

    def _dtm(self, e: list[str], number: int) -> None:
        if len(e) < 3:
            e = _padded(e, 3)
        qualifier, text = e[1], e[2]
        day = self.days.get(text)
        if day is None:
            day = iso_date(text)
            if len(self.days) >= _CACHE_LIMIT:
                self.days.clear()
            self.days[text] = day
        line = self.line
        if line is not None:
            if qualifier == "472":
                line[_L_DATE] = line[_L_DATE_END] = day
            elif qualifier == "150":
                line[_L_DATE] = day
            elif qualifier == "151":
                line[_L_DATE_END] = day
            return
        claim = self.claim
        if claim is not None:
            if qualifier == "232":
                claim[_DATE_START] = day
            elif qualifier == "233":
                claim[_DATE_END] = day
            elif qualifier == "050":
                claim[_RECEIVED] = day
        elif qualifier == "405":
            self.payment.production_date = day

    def _ref(self, e: list[str], number: int) -> None:
        if len(e) < 3:
            e = _padded(e, 3)
        qualifier = e[1]
        if self.line is not None:
            if qualifier == "6R":
                self.line[_L_CONTROL] = e[2]
        elif self.loop == "1000A" and qualifier == "2U" and not self.payment.payer_id:
            self.payment.payer_id = e[2]
        elif self.loop == "1000B" and qualifier == "TJ":
            self.payment.payee_tax_id = e[2]

    def _amt(self, e: list[str], number: int) -> None:
        if len(e) < 3:
            e = _padded(e, 3)
        qualifier, line = e[1], self.line
        if line is not None:
            if qualifier == "B6":
                amount = self.cache.get(e[2])
                line[_L_ALLOWED] = (
                    amount if amount is not None else self._money(e[2], number, "AMT", "AMT02")
                )
        elif self.claim is not None and qualifier == "I":
            self.claim[_INTEREST] = self._money(e[2], number, "AMT", "AMT02")

    # -- 2110 service line ----------------------------------------------------------
    def _svc(self, e: list[str], number: int) -> None:
        claim = self.claim
        if claim is None:
            return
        money, cached = self._money, self.cache.get
        size = len(e)
        if size < 4:
            e, size = _padded(e, 4), 4
        billed = e[1].split(self.component)
        if len(billed) == 2:
            qualifier, code, modifiers = billed[0], billed[1], ""
        else:
            billed += _PAD[:2]  # SVC01-1 and -2 may be missing
            qualifier, code = billed[0], billed[1]
            modifiers = ",".join([m for m in billed[2:6] if m])
        revenue, original_units = "", None
        units: Decimal | None = _ONE  # absent SVC05 means one unit
        original_code = original_modifiers = ""
        if size > 4:  # SVC04 revenue code, SVC05 units, SVC06 original procedure, SVC07 units
            e = _padded(e, 8)
            revenue = e[4]
            if e[5]:
                units = cached(e[5]) or money(e[5], number, "SVC", "SVC05")
            if e[6]:
                original = e[6].split(self.component)
                original_code = original[1] if len(original) > 1 else ""
                original_modifiers = ",".join(m for m in original[2:6] if m)
        charge = cached(e[2])
        if charge is None:
            charge = money(e[2], number, "SVC", "SVC02")
        paid = cached(e[3])
        if paid is None:
            paid = money(e[3], number, "SVC", "SVC03")
        if size > 7 and e[7]:
            original_units = money(e[7], number, "SVC", "SVC07")
        lines = self.lines
        line = [
            claim[_KEY], len(lines) + 1, "", code, modifiers, charge, paid, None,
            units, "", original_code, "", qualifier, revenue, original_modifiers,
            original_units, "", number,
        ]  # fmt: skip
        lines.append(line)
        self.line_adjustments.append([])
        self.line_adjusted.append(_ZERO)
        self.line = line

    def _lq(self, e: list[str], number: int) -> None:
        line = self.line
        if line is not None and len(e) > 2 and e[1] == "HE" and e[2]:
            line[_L_REMARKS] = _join(line[_L_REMARKS], [e[2]])

    # -- PLB ------------------------------------------------------------------------
    def _plb(self, elements: list[str], number: int) -> None:
        self._close_claim()
        self.loop = "PLB"
        p, e = self.payment, _padded(elements, 15)
        component = self.component
        for i in _PLB_PAIRS:
            if not e[i] and not e[i + 1]:
                continue
            reason, _, reference = e[i].partition(component)
            amount = self._money(e[i + 1], number, "PLB", f"PLB{i + 1:02d}")
            if amount is not None:
                p.provider_adjustment_total += amount
            self.sink.provider_adjustment(
                RemitProviderAdjustment(
                    p.source_file, p.transaction_control_number, p.trace_number, e[1],
                    iso_date(e[2]), reason, reference, amount,
                )
            )  # fmt: skip

    # -- claim completion, balancing, reversal pairing --------------------------------
    def _close_claim(self) -> None:
        claim = self.claim
        if claim is None:
            return
        self.claim = self.line = None
        lines = self.lines
        first = last = ""  # the claim's dates from its lines, when it has no DTM*232
        dated = bool(claim[_DATE_START])
        claim_adjusted = self.adjusted
        for line, adjustments, adjusted in zip(
            lines, self.line_adjustments, self.line_adjusted, strict=True
        ):
            ref = line[_L_CONTROL]
            if ref:
                for adjustment in adjustments:
                    adjustment[_A_CONTROL] = ref
            charge, paid = line[_L_CHARGE], line[_L_PAID]
            if charge is not None and paid is not None and charge - adjusted != paid:
                self._balance_line(claim, line, adjusted)
            claim_adjusted += adjusted
            if not dated:
                for day in (line[_L_DATE], line[_L_DATE_END]):
                    if day:
                        if not first or day < first:
                            first = day
                        if day > last:
                            last = day
        if first:
            claim[_DATE_START] = first
            claim[_DATE_END] = claim[_DATE_END] or last
        charge, paid, adjusted = claim[_CHARGE], claim[_PAID], claim_adjusted
        if (
            charge is None
            or paid is None
            or charge - adjusted != paid
            or self.patient != claim[_RESPONSIBILITY]
        ):
            self._balance_claim(claim, self.adjusted, adjusted - self.adjusted, self.patient)
        bundle = (claim, self.claim_adjustments, lines, self.line_adjustments)
        if self.pending or self.held:
            self.held.append(bundle)
            if len(self.held) > HOLD_LIMIT:
                self._flush(force=False)
        else:
            self.sink.claim(*bundle)

    def _pair(self, claim: Row) -> None:
        pcn, icn = claim[_PCN], claim[_ICN]
        if claim[_STATUS] == "22":
            original = (
                (self.seen_icn.get(icn) if icn else None)
                or self.known.get(icn)
                or self.seen_pcn.get(pcn)
                or self.known.get(pcn)
            )
            claim[_REVERSAL_OF] = original or ""
            self.pending[pcn] = claim
            return
        key = claim[_KEY]
        if self.pending:
            reversal = self.pending.pop(pcn, None)
            if reversal is not None:
                reversal[_CORRECTED_BY] = key
        # Remember the claim for reversals later in the file.
        if self.remember is not None and len(self.seen_pcn) >= self.remember:
            self._forget()
        self.seen_pcn[pcn] = key
        if icn:
            self.seen_icn[icn] = key

    def _forget(self) -> None:
        """Bounded memory for huge files: forget the oldest half (dicts keep order)."""
        for table in (self.seen_pcn, self.seen_icn):
            for old in list(table)[: len(table) // 2]:
                del table[old]

    def _flush(self, *, force: bool) -> None:
        if not self.held:
            return
        if force:
            self.pending.clear()
        claim = self.sink.claim
        if not self.pending:
            for bundle in self.held:
                claim(*bundle)
            self.held.clear()
            return
        waiting = set(map(id, self.pending.values()))
        for bundle in self.held:
            if id(bundle[0]) not in waiting:
                claim(*bundle)
        self.held = [b for b in self.held if id(b[0]) in waiting]

    # Balancing: the rules of pipeline.x12.balance (one implementation), on this parser's sums.
    def _balance_line(self, claim: Row, line: Row, adjusted: Decimal) -> None:
        p, ref = self.payment, line[_L_CONTROL] or str(line[_L_NUMBER])
        problem = line_balance(
            p.source_file, p.transaction_control_number, f"{claim[_KEY]}/{line[_L_NUMBER]}",
            f"service line {ref} of claim {claim[_PCN]}", line[_L_CHARGE] or _ZERO, adjusted,
            line[_L_PAID] or _ZERO, line[_L_SEGMENT],
        )  # fmt: skip
        if problem is not None:
            self.out.append(problem)

    def _balance_claim(
        self, claim: Row, claim_level: Decimal, line_level: Decimal, patient: Decimal
    ) -> None:
        charge, paid, p = claim[_CHARGE], claim[_PAID], self.payment
        if charge is not None and paid is not None:
            problem = claim_balance(
                p.source_file, p.transaction_control_number, claim[_KEY], f"claim {claim[_PCN]}",
                charge, claim_level, line_level, paid, claim[_CLAIM_SEGMENT],
            )  # fmt: skip
            if problem is not None:
                self.out.append(problem)
        responsibility = claim[_RESPONSIBILITY]
        if responsibility is None:
            return
        if patient != responsibility:
            self._problem(
                "claim", claim[_KEY], "patient_responsibility", patient, responsibility,
                f"claim {claim[_PCN]}: PR adjustments total {patient}, "
                f"CLP05 is {responsibility}", claim[_CLAIM_SEGMENT], "CLP", severity="warning",
            )  # fmt: skip

    def _check_payment(self, seg: Segment) -> None:
        p = self.payment
        if p.payment_amount is None:
            return
        problem = transaction_balance(
            p.source_file,
            p.transaction_control_number,
            f"payment {p.trace_number}",
            p.total_paid,
            p.provider_adjustment_total,
            p.payment_amount,
            self.bpr_number,
        )
        if problem is not None:
            self.out.append(problem)

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
