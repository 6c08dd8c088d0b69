"""Match 835 claims and lines to the claims as submitted, post them, and check every trace.

- Claims: CLP01 = CLM01 (upper-cased; payers may keep only the first 20 characters).
- Lines: 2110 REF*6R = 2400 REF*6R; fallback: procedure (SVC06 original code when the payer
  re-coded or bundled, else SVC01) + service date + modifiers (payer-dropped modifiers allowed).
- Reversals (CLP02 = 22) cancel the adjudication they reverse (``reversal_of_claim_key`` or
  the latest earlier adjudication of the same PCN with the opposite charge); both stay posted,
  so the net of the pair is zero and only the correction remains *effective*.
- A reversal whose original is not among the remittances (it predates the ledger) is marked
  ``before_ledger``: it is posted (the money moved) but never reaches A/R.
- Money is never counted twice: an ERA received again (same TRN02, payer, BPR02 and date from
  another file; DOMAIN.md §12 step 2) and a claim paid again under another check that the ledger
  refused (``refused``; without a ledger: a second adjudication of a PCN while an earlier one in
  another payment stands) are marked ``duplicate`` and kept out of posting (see
  :mod:`pipeline.reconcile.posting`).
- Nothing is dropped: remittance claims or lines that match nothing go to ``unmatched``.
- PLB amounts are linked to the claim their reference (PLB03-2) names, by CLP07 or CLP01.
- Per trace number: Σ posted (CLP04 of every claim, matched or not) − Σ PLB = BPR02.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import pandas as pd

from pipeline.reconcile.inputs import (
    Submitted,
    as_bool,
    as_date,
    as_decimal,
    as_text,
    iter_records,
    modifiers_of,
    records,
)

__all__ = [
    "PRIOR_PAYER_STATUS",
    "UNMATCHED_COLUMNS",
    "Adjustment",
    "Extras",
    "MatchResult",
    "RemitClaim",
    "RemitLine",
    "SubClaim",
    "SubLine",
    "load_remittance",
    "match_remittance",
    "normalize_submitted",
]

ZERO = Decimal(0)


# Slotted: a 100k-claim night holds several hundred thousand of these at once. Frozen: equal
# ones are one object (load_remittance), so none may change.
@dataclass(slots=True, frozen=True)
class Adjustment:
    group_code: str
    reason_code: str
    amount: Decimal
    quantity: Decimal | None = None


@dataclass(slots=True)
class RemitLine:
    line_number: int
    line_control_number: str
    procedure_code: str
    modifiers: tuple[str, ...]
    charge_amount: Decimal
    paid_amount: Decimal
    allowed_amount: Decimal | None
    units: Decimal
    service_date: date | None
    original_procedure_code: str
    remark_codes: tuple[str, ...]
    adjustments: list[Adjustment] = field(default_factory=list)
    matched_line: str = ""  # submitted line_control_number
    match_method: str = ""


@dataclass(slots=True)
class RemitClaim:
    claim_key: str
    trace_number: str
    patient_control_number: str
    claim_status_code: str
    charge_amount: Decimal
    paid_amount: Decimal
    patient_responsibility: Decimal
    payer_claim_control_number: str
    place_of_service: str
    service_date_start: date | None
    reversal_of_claim_key: str
    payment_date: date | None
    payer_id: str
    payer_name: str
    order: int
    member_id: str = ""
    source_file: str = ""
    transaction_control_number: str = ""
    lines: list[RemitLine] = field(default_factory=list)
    adjustments: list[Adjustment] = field(default_factory=list)  # claim level
    matched_claim: str = ""  # submitted PCN
    reversed_by: str = ""  # claim_key of the reversal that cancels this one
    before_ledger: bool = False  # a reversal of an adjudication these remittances do not hold
    duplicate: str = ""  # why this CLP is money counted already (then it is never posted)

    @property
    def is_reversal(self) -> bool:
        return self.claim_status_code == "22"

    @property
    def posted(self) -> bool:
        """Part of payment posting (every CLP but a duplicate)."""
        return not self.duplicate

    @property
    def effective(self) -> bool:
        return (
            bool(self.matched_claim)
            and not self.is_reversal
            and not self.reversed_by
            and not self.duplicate
        )

    @property
    def in_books(self) -> bool:
        """Counts toward the claim's A/R: posted, matched, and not a reversal of money these
        books never held."""
        return bool(self.matched_claim) and self.posted and not self.before_ledger

    def has_adjustment(self, group: str, reason: str) -> bool:
        return any(
            a.group_code == group and a.reason_code == reason for a in self.all_adjustments()
        )

    def all_adjustments(self) -> list[Adjustment]:
        return [*self.adjustments, *(a for ln in self.lines for a in ln.adjustments)]


@dataclass(slots=True)  # one per line sent: no per-object dict
class SubLine:
    line_control_number: str
    line_number: int
    procedure_code: str
    modifiers: tuple[str, ...]
    units: Decimal
    charge_amount: Decimal
    service_date: date | None
    place_of_service: str
    emergency: bool


@dataclass(slots=True)  # one per claim sent: no per-object dict
class SubClaim:
    patient_control_number: str
    payer_id: str
    network_status: str
    place_of_service: str
    emergency: bool
    frequency_code: str
    service_date_start: date | None
    service_date_end: date | None
    charge_amount: Decimal
    aob: bool
    submitted_date: date | None
    extras: MutableMapping[str, str]  # Extras from normalize_submitted; any mapping will do
    lines: list[SubLine] = field(default_factory=list)
    responsibility: str = "P"  # SBR01: P, S or T
    prior_paid: Decimal = ZERO  # 2320 AMT*D of the payers before this one
    prior_patient_responsibility: Decimal | None = None  # their PR (2320 CAS PR); None = primary
    prior_adjustments: Decimal = ZERO  # their CO/PI/OA

    @property
    def secondary(self) -> bool:
        return self.responsibility in ("S", "T") and self.prior_patient_responsibility is not None

    @property
    def void(self) -> bool:
        return self.frequency_code == "8"

    def as_mapping(self) -> dict[str, Any]:
        return {
            "payer_id": self.payer_id,
            "network_status": self.network_status,
            "place_of_service": self.place_of_service,
            "emergency": self.emergency,
            "service_date_start": self.service_date_start,
        }


class _Layout:
    """The keys of many :class:`Extras` and where each one's value sits."""

    __slots__ = ("keys", "position")

    def __init__(self, keys: tuple[str, ...]) -> None:
        self.keys = keys
        self.position = {k: i for i, k in enumerate(keys)}


class Extras(MutableMapping[str, str]):
    """A claim's extra facts: a dict to its readers, held as a tuple of values beside a key
    layout every claim shares (a dict of 21 keys per claim sent cost twice as much).
    Changing one claim's extras gives it a new tuple (and, for a new key, its own layout):
    nothing is ever changed in place, so no edit reaches another claim."""

    __slots__ = ("_layout", "_values")

    def __init__(self, layout: _Layout, values: tuple[str, ...]) -> None:
        if len(values) != len(layout.keys):
            raise ValueError("one value per key")
        self._layout = layout
        self._values = values

    @classmethod
    def layout(cls, keys: Iterable[str]) -> _Layout:
        """A key layout for many claims' extras."""
        return _Layout(tuple(keys))

    def __getitem__(self, key: str) -> str:
        return self._values[self._layout.position[key]]

    def get(self, key: str, default: Any = None) -> Any:
        i = self._layout.position.get(key)
        return default if i is None else self._values[i]

    def __contains__(self, key: object) -> bool:
        return key in self._layout.position

    def __setitem__(self, key: str, value: str) -> None:
        i = self._layout.position.get(key)
        if i is None:
            self._layout = _Layout((*self._layout.keys, key))
            self._values = (*self._values, value)
        else:
            self._values = (*self._values[:i], value, *self._values[i + 1 :])

    def __delitem__(self, key: str) -> None:
        i = self._layout.position[key]
        keys = self._layout.keys
        self._layout = _Layout((*keys[:i], *keys[i + 1 :]))
        self._values = (*self._values[:i], *self._values[i + 1 :])

    def __iter__(self) -> Iterator[str]:
        return iter(self._layout.keys)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return repr(dict(self))


# CLP02 of a payer that processed the claim in its turn (DOMAIN.md §7.3), by SBR01.
PRIOR_PAYER_STATUS = {
    "P": frozenset({"1", "19"}),
    "S": frozenset({"2", "20"}),
    "T": frozenset({"3", "21"}),
}


@dataclass
class MatchResult:
    claims: dict[str, SubClaim]  # by PCN
    remits: list[RemitClaim]
    payments: dict[str, dict[str, Any]]  # by trace number
    provider_adjustments: list[dict[str, Any]]
    unmatched: pd.DataFrame
    duplicate_payments: list[dict[str, Any]] = field(default_factory=list)  # ERAs seen again
    _by_claim: dict[str, list[RemitClaim]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _by_key: dict[str, RemitClaim] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _indexed: int = field(default=-1, init=False, repr=False, compare=False)

    def remits_of(self, pcn: str) -> list[RemitClaim]:
        """The remittance claims matched to ``pcn``, in arrival order."""
        self._index()
        return list(self._by_claim.get(pcn, ()))

    def remit(self, claim_key: str) -> RemitClaim | None:
        """The (first) remittance claim with ``claim_key``, if any."""
        self._index()
        return self._by_key.get(claim_key)

    def _index(self) -> None:
        # Built once (a scan per claim made aging and letters quadratic); rebuilt if the
        # remittance list has grown since.
        if self._indexed == len(self.remits):
            return
        by_claim: dict[str, list[RemitClaim]] = {}
        by_key: dict[str, RemitClaim] = {}
        for r in self.remits:
            by_claim.setdefault(r.matched_claim, []).append(r)
            by_key.setdefault(r.claim_key, r)
        self._by_claim, self._by_key, self._indexed = by_claim, by_key, len(self.remits)


def _dec(value: object, where: str) -> Decimal:
    return as_decimal(value, where=where) or ZERO


def normalize_submitted(submitted: Submitted) -> dict[str, SubClaim]:
    """Submitted claims by PCN with their lines (values normalized; extras kept as text).
    Rows are read one at a time, and the codes, modifiers and SBR01s made here are one
    object per distinct value (they repeat across thousands of claims)."""
    from pipeline.reconcile.inputs import SUBMITTED_CLAIM_EXTRAS

    texts: dict[str, str] = {}
    share = texts.setdefault  # payer, facility, state, patient texts repeat across claims
    modifiers: dict[str, tuple[str, ...]] = {}
    claims: dict[str, SubClaim] = {}
    layout = Extras.layout(SUBMITTED_CLAIM_EXTRAS)
    for row in iter_records(submitted.claims):
        pcn = as_text(row["patient_control_number"])
        where = f"submitted claim {pcn}"
        start = as_date(row.get("service_date_start"), where=where)
        responsibility = as_text(row.get("responsibility")).upper() or "P"
        claims[pcn] = SubClaim(
            patient_control_number=pcn,
            payer_id=as_text(row.get("payer_id")),
            network_status=as_text(row.get("network_status")),
            place_of_service=as_text(row.get("place_of_service")),
            emergency=as_bool(row.get("emergency")),
            frequency_code=as_text(row.get("frequency_code")) or "1",
            service_date_start=start,
            service_date_end=as_date(row.get("service_date_end"), where=where) or start,
            charge_amount=_dec(row.get("charge_amount"), where),
            aob=as_bool(row.get("aob")),
            submitted_date=as_date(row.get("submitted_date"), where=where),
            extras=Extras(
                layout,
                tuple(share(v, v) for v in (_extra_text(row.get(k)) for k in layout.keys)),
            ),
            responsibility=texts.setdefault(responsibility, responsibility),
            prior_paid=_dec(row.get("prior_paid_amount"), where),
            prior_patient_responsibility=as_decimal(
                row.get("prior_patient_responsibility"), where=where
            ),
            prior_adjustments=_dec(row.get("prior_adjustment_amount"), where),
        )
    counters: dict[str, int] = {}
    for row in iter_records(submitted.lines):
        pcn = as_text(row["patient_control_number"])
        claim = claims.get(pcn)
        if claim is None:
            continue  # a line without its claim cannot be reconciled; the claim table rules
        counters[pcn] = counters.get(pcn, 0) + 1
        n = int(row.get("line_number") or counters[pcn])
        where = f"submitted line {pcn}/{n}"
        code = as_text(row.get("procedure_code")).upper()
        claim.lines.append(
            SubLine(
                line_control_number=as_text(row.get("line_control_number")) or f"{pcn}-{n}",
                line_number=n,
                procedure_code=texts.setdefault(code, code),
                modifiers=_modifiers(row.get("modifiers"), modifiers),
                units=as_decimal(row.get("units"), where=where) or Decimal(1),
                charge_amount=_dec(row.get("charge_amount"), where),
                service_date=as_date(row.get("service_date"), where=where)
                or claim.service_date_start,
                place_of_service=as_text(row.get("place_of_service")),
                emergency=as_bool(row.get("emergency")),
            )
        )
    return claims


def _modifiers(value: object, known: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    """``modifiers_of``, once per distinct text (a list cell is read each time)."""
    if value.__class__ is not str:
        return modifiers_of(value)
    text = str(value)
    found = known.get(text)
    if found is None:
        found = known[text] = modifiers_of(text)
    return found


def _extra_text(value: object) -> str:
    if value.__class__ is str:  # the usual cell
        return value.strip()
    if isinstance(value, (list, tuple)):
        return " ".join(as_text(v) for v in value)
    return as_text(value)


def load_remittance(tables: Mapping[str, pd.DataFrame]) -> Remittance:
    """Remittance tables → claims with lines and adjustments attached, payments by trace."""
    payments: dict[str, dict[str, Any]] = {}
    seen: dict[tuple[Any, ...], str] = {}
    again: dict[tuple[str, str], str] = {}  # (source_file, trace) of an ERA seen before → trace
    duplicates: list[dict[str, Any]] = []
    for row in iter_records(tables["remit_payments"]):
        trace = as_text(row["trace_number"])
        era = (
            trace,
            as_text(row.get("payer_id")),
            as_decimal(row.get("payment_amount")),
            as_date(row.get("payment_date")),
        )
        source = (as_text(row.get("source_file")), trace)
        if era in seen and seen[era] != source[0]:
            again[source] = trace
            duplicates.append(row)
            continue
        seen[era] = source[0]
        payments[trace] = {
            "trace_number": trace,
            "payer_id": as_text(row.get("payer_id")),
            "payer_name": as_text(row.get("payer_name")),
            "payment_amount": _dec(row.get("payment_amount"), f"payment {trace}"),
            "payment_date": as_date(row.get("payment_date"), where=f"payment {trace}"),
            "payment_method": as_text(row.get("payment_method")),
            "source_file": as_text(row.get("source_file")),
        }
    claims: dict[str, RemitClaim] = {}
    shared = _Shared()
    # Rows one at a time (a list of a night's row dicts was matching's peak).
    for order, row in enumerate(iter_records(tables["remit_claims"])):
        key = as_text(row["claim_key"])
        where = f"remit claim {key}"
        trace = as_text(row.get("trace_number"))
        pay = payments.get(trace, {})
        claims[key] = RemitClaim(
            claim_key=key,
            trace_number=trace,
            patient_control_number=as_text(row.get("patient_control_number")),
            claim_status_code=as_text(row.get("claim_status_code")),
            charge_amount=_dec(row.get("charge_amount"), where),
            paid_amount=_dec(row.get("paid_amount"), where),
            patient_responsibility=_dec(row.get("patient_responsibility"), where),
            payer_claim_control_number=as_text(row.get("payer_claim_control_number")),
            place_of_service=as_text(row.get("place_of_service")),
            service_date_start=as_date(row.get("service_date_start"), where=where),
            reversal_of_claim_key=as_text(row.get("reversal_of_claim_key")),
            payment_date=pay.get("payment_date"),
            payer_id=pay.get("payer_id", ""),
            payer_name=pay.get("payer_name", ""),
            order=order,
            member_id=as_text(row.get("patient_member_id")),
            source_file=as_text(row.get("source_file")),
            transaction_control_number=as_text(row.get("transaction_control_number")),
        )
    line_rows = iter_records(tables["remit_service_lines"])
    for n, row in enumerate(line_rows, start=1):
        claim = claims.get(as_text(row.get("claim_key")))
        if claim is None:
            continue
        where = f"remit line {claim.claim_key}/{row.get('line_number') or n}"
        claim.lines.append(
            RemitLine(
                line_number=int(row.get("line_number") or len(claim.lines) + 1),
                line_control_number=as_text(row.get("line_control_number")),
                procedure_code=shared.code(row.get("procedure_code")),
                modifiers=shared.codes(row.get("modifiers")),
                charge_amount=_dec(row.get("charge_amount"), where),
                paid_amount=_dec(row.get("paid_amount"), where),
                allowed_amount=as_decimal(row.get("allowed_amount"), where=where),
                units=as_decimal(row.get("units"), where=where) or Decimal(1),
                service_date=as_date(row.get("service_date"), where=where),
                original_procedure_code=shared.code(row.get("original_procedure_code")),
                remark_codes=shared.codes(row.get("remark_codes")),
            )
        )
    _attach_adjustments(claims, iter_records(tables["remit_adjustments"]), shared)
    plb = [
        {
            "trace_number": as_text(r.get("trace_number")),
            "provider_id": as_text(r.get("provider_id")),
            "reason_code": as_text(r.get("reason_code")),
            "reference_id": as_text(r.get("reference_id")),
            "amount": _dec(r.get("amount"), "provider adjustment"),
            "source_file": as_text(r.get("source_file")),
            "transaction_control_number": as_text(r.get("transaction_control_number")),
        }
        for r in records(tables["remit_provider_adjustments"])
    ]
    _mark_era_duplicates(claims.values(), again)
    plb = [p for p in plb if (p["source_file"], p["trace_number"]) not in again]
    return Remittance(list(claims.values()), payments, plb, duplicates)


class _Shared:
    """One object per distinct code and code list: every line and CAS repeats a few hundred
    (``str.upper`` and ``split`` make a new one each time)."""

    __slots__ = ("_adjustments", "_codes", "_lists")

    def __init__(self) -> None:
        self._codes: dict[str, str] = {}
        self._lists: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._adjustments: dict[tuple[str, str, str, str], Adjustment] = {}

    def adjustment(
        self, group: str, reason: str, amount: Decimal, quantity: Decimal | None
    ) -> Adjustment:
        """One (frozen) object per distinct CAS: a night's CAS repeat a few thousand. Amounts
        are told apart by their text (Decimal('1.0') == Decimal('1.00'), yet prints apart)."""
        key = (group, reason, str(amount), "" if quantity is None else str(quantity))
        found = self._adjustments.get(key)
        if found is None:
            found = self._adjustments[key] = Adjustment(group, reason, amount, quantity)
        return found

    def code(self, value: object) -> str:
        text = as_text(value)
        found = self._codes.get(text)
        if found is None:
            found = self._codes[text] = text.upper()
        return found

    def codes(self, value: object) -> tuple[str, ...]:
        found = modifiers_of(value)
        return self._lists.setdefault(found, found)


@dataclass
class Remittance:
    claims: list[RemitClaim]
    payments: dict[str, dict[str, Any]]
    provider_adjustments: list[dict[str, Any]]
    duplicate_payments: list[dict[str, Any]]


def _mark_era_duplicates(
    claims: Iterable[RemitClaim], again: Mapping[tuple[str, str], str]
) -> None:
    for claim in claims:
        trace = again.get((claim.source_file, claim.trace_number))
        if trace is not None:
            claim.duplicate = f"the remittance of trace {trace} was received again"


def _attach_adjustments(
    claims: Mapping[str, RemitClaim], rows: Iterable[dict[str, Any]], shared: _Shared
) -> None:
    for row in rows:
        claim = claims.get(as_text(row.get("claim_key")))
        if claim is None:
            continue
        adj = shared.adjustment(
            shared.code(row.get("group_code")),
            shared.code(row.get("reason_code")),
            _dec(row.get("amount"), f"adjustment {claim.claim_key}"),
            as_decimal(row.get("quantity")),
        )
        if as_text(row.get("level")) != "line":
            claim.adjustments.append(adj)
            continue
        line = _line_for(claim, row)
        (line.adjustments if line is not None else claim.adjustments).append(adj)


def _line_for(claim: RemitClaim, row: Mapping[str, Any]) -> RemitLine | None:
    # The parser may add line_number (a line without REF*6R has no other key).
    number = row.get("line_number")
    if number is not None:
        for line in claim.lines:
            if line.line_number == int(number):
                return line
    lcn = as_text(row.get("line_control_number"))
    for line in claim.lines:
        if lcn and line.line_control_number == lcn:
            return line
    without = [ln for ln in claim.lines if not ln.line_control_number]
    return without[0] if len(without) == 1 and not lcn else None


def _pcn_index(claims: Mapping[str, SubClaim]) -> dict[str, str]:
    index: dict[str, str] = {}
    for pcn in claims:
        index.setdefault(pcn.upper(), pcn)
        index.setdefault(pcn.upper()[:20], pcn)
    return index


def match_remittance(
    tables: Mapping[str, pd.DataFrame],
    submitted: Submitted,
    refused: Mapping[str, str] | None = None,
) -> MatchResult:
    """``refused``: claim_key → why the ledger would not post that CLP (a claim paid again);
    None (no ledger at hand) = find such duplicates by the payments themselves."""
    claims = normalize_submitted(submitted)
    loaded = load_remittance(tables)
    remits = loaded.claims
    index = _pcn_index(claims)
    unmatched: list[dict[str, Any]] = []
    for remit in remits:
        pcn = remit.patient_control_number.upper()
        found = index.get(pcn) or index.get(pcn[:20])
        if found is None:
            unmatched.append(_unmatched_row(remit, None, "no submitted claim with this PCN"))
            continue
        remit.matched_claim = found
        if remit.patient_control_number == found:  # the text sent, held once
            remit.patient_control_number = found
        _match_lines(remit, claims[found], unmatched)
    _apply_reversals([r for r in remits if not r.duplicate])
    if refused is None:
        _mark_paid_again(remits, claims)
    else:
        for remit in remits:
            if remit.claim_key in refused and not remit.duplicate:
                remit.duplicate = refused[remit.claim_key]
    _link_provider_adjustments(loaded.provider_adjustments, remits)
    return MatchResult(
        claims=claims,
        remits=remits,
        payments=loaded.payments,
        provider_adjustments=loaded.provider_adjustments,
        unmatched=pd.DataFrame(unmatched, columns=list(UNMATCHED_COLUMNS)),
        duplicate_payments=loaded.duplicate_payments,
    )


UNMATCHED_COLUMNS = (
    "trace_number",
    "payment_date",
    "payer_id",
    "claim_key",
    "patient_control_number",
    "level",
    "line_control_number",
    "procedure_code",
    "service_date",
    "charge_amount",
    "paid_amount",
    "reason",
)


def _unmatched_row(remit: RemitClaim, line: RemitLine | None, reason: str) -> dict[str, Any]:
    return {
        "trace_number": remit.trace_number,
        "payment_date": remit.payment_date,
        "payer_id": remit.payer_id,
        "claim_key": remit.claim_key,
        "patient_control_number": remit.patient_control_number,
        "level": "line" if line else "claim",
        "line_control_number": line.line_control_number if line else "",
        "procedure_code": line.procedure_code if line else "",
        "service_date": (line.service_date if line else remit.service_date_start),
        "charge_amount": line.charge_amount if line else remit.charge_amount,
        "paid_amount": line.paid_amount if line else remit.paid_amount,
        "reason": reason,
    }


def _match_lines(remit: RemitClaim, claim: SubClaim, unmatched: list[dict[str, Any]]) -> None:
    by_lcn = {ln.line_control_number.upper(): ln for ln in claim.lines}
    taken: set[str] = set()
    pending: list[RemitLine] = []
    for line in remit.lines:
        sub = by_lcn.get(line.line_control_number.upper()) if line.line_control_number else None
        if sub is not None and sub.line_control_number not in taken:
            line.matched_line, line.match_method = sub.line_control_number, "ref_6r"
            if line.line_control_number == sub.line_control_number:  # the text sent, held once
                line.line_control_number = sub.line_control_number
            taken.add(sub.line_control_number)
        else:
            pending.append(line)
    for line in pending:
        best = _fallback(line, claim, taken)
        if best is None:
            unmatched.append(
                _unmatched_row(remit, line, "no submitted line with this REF*6R, code and date")
            )
            continue
        sub, method = best
        line.matched_line, line.match_method = sub.line_control_number, method
        taken.add(sub.line_control_number)


def _fallback(line: RemitLine, claim: SubClaim, taken: set[str]) -> tuple[SubLine, str] | None:
    codes = {c for c in (line.original_procedure_code, line.procedure_code) if c}
    best: tuple[tuple[int, int, int], SubLine, str] | None = None
    for sub in claim.lines:
        if sub.line_control_number in taken or sub.procedure_code not in codes:
            continue
        when = line.service_date or claim.service_date_start
        if when and sub.service_date and when != sub.service_date:
            continue
        if set(line.modifiers) == set(sub.modifiers):
            mod_score, method = 2, "procedure_date_modifiers"
        elif set(line.modifiers) <= set(sub.modifiers):
            mod_score, method = 1, "procedure_date_dropped_modifiers"
        else:
            continue
        if line.original_procedure_code and line.original_procedure_code != line.procedure_code:
            method = "svc06_original_procedure"
        score = (mod_score, int(sub.charge_amount == line.charge_amount), -sub.line_number)
        if best is None or score > best[0]:
            best = (score, sub, method)
    return None if best is None else (best[1], best[2])


def _apply_reversals(remits: list[RemitClaim]) -> None:
    by_key = {r.claim_key: r for r in remits}
    ordered = sorted(remits, key=lambda r: (r.payment_date or date.min, r.order))
    by_pcn: dict[str, list[RemitClaim]] = defaultdict(list)  # each in payment order
    for remit in ordered:
        by_pcn[remit.patient_control_number].append(remit)
    for reversal in (r for r in ordered if r.is_reversal):
        target = by_key.get(reversal.reversal_of_claim_key)
        if target is None:
            # Latest earlier adjudication of the same PCN whose charge the reversal negates.
            for cand in by_pcn[reversal.patient_control_number]:
                if cand is reversal:
                    break
                if (
                    not cand.is_reversal
                    and not cand.reversed_by
                    and cand.charge_amount == -reversal.charge_amount
                ):
                    target = cand
        if target is not None and not target.reversed_by:
            target.reversed_by = reversal.claim_key
        else:
            reversal.before_ledger = True


# Ledger states in which a new adjudication without a reversal is expected (appeal decisions).
_READJUDICATING = frozenset({"appeal_due", "appealed"})


def _mark_paid_again(remits: list[RemitClaim], claims: Mapping[str, SubClaim]) -> None:
    """A second adjudication of a PCN under another payment while the first still stands."""
    standing: dict[str, RemitClaim] = {}
    for remit in sorted(remits, key=lambda r: (r.payment_date or date.min, r.order)):
        if not remit.matched_claim or remit.duplicate or remit.is_reversal:
            continue
        first = standing.get(remit.matched_claim)
        state = claims[remit.matched_claim].extras.get("ledger_state", "")
        if (
            first is not None
            and not first.reversed_by
            and first.trace_number != remit.trace_number
            and state not in _READJUDICATING
        ):
            remit.duplicate = (
                f"claim already adjudicated in trace {first.trace_number} "
                f"({first.claim_key}); paid again without a reversal"
            )
            continue
        standing[remit.matched_claim] = remit


def _link_provider_adjustments(plb: list[dict[str, Any]], remits: list[RemitClaim]) -> None:
    """PLB03-2 names a claim by its payer claim control number (CLP07) or its PCN."""
    by_icn = {r.payer_claim_control_number: r for r in remits if r.payer_claim_control_number}
    by_pcn = {r.patient_control_number.upper(): r for r in remits if r.matched_claim}
    for p in plb:
        ref = p["reference_id"]
        found = by_icn.get(ref) or by_pcn.get(ref.upper()) if ref else None
        if found is not None and found.posted:
            p["patient_control_number"] = found.matched_claim
            p["claim_key"] = found.claim_key
        else:
            p["patient_control_number"] = ""
            p["claim_key"] = ""
