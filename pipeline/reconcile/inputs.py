"""What reconciliation reads: documented column sets and the builders that make them.

Four inputs, all pandas DataFrames (money as :class:`~decimal.Decimal` objects, dates as
:class:`datetime.date`, ISO strings or ``CCYYMMDD``; a table may carry more columns):

(a) **Remittance** — the five 835 tables exactly as DESIGN.md § Tables names them
    (``pipeline.parse.parse_file(path).tables``): :data:`REMIT_PAYMENTS`, :data:`REMIT_CLAIMS`,
    :data:`REMIT_SERVICE_LINES`, :data:`REMIT_ADJUSTMENTS`, :data:`REMIT_PROVIDER_ADJUSTMENTS`.
(b) **Claims as submitted** — :data:`SUBMITTED_CLAIMS` (one row per CLM) and
    :data:`SUBMITTED_LINES` (one row per SV1), built by :func:`submitted_from_records` or
    :func:`submitted_from_practice`. Optional columns (:data:`SUBMITTED_CLAIM_EXTRAS`) feed the
    appeal letters and the worklist status.
(c) **Eligibility** — ``eligibility_summary`` (:data:`ELIGIBILITY_SUMMARY`, DESIGN columns).
(d) **Appointments** — :data:`APPOINTMENTS`, for patient estimates.

:func:`remit_tables` checks (a) and fills absent optional tables with empty frames, so a
remittance without PLB still reconciles.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

import pandas as pd

from pipeline.errors import ReconcileInputError

__all__ = [
    "APPOINTMENTS",
    "ELIGIBILITY_SUMMARY",
    "REMIT_ADJUSTMENTS",
    "REMIT_CLAIMS",
    "REMIT_PAYMENTS",
    "REMIT_PROVIDER_ADJUSTMENTS",
    "REMIT_SERVICE_LINES",
    "REMIT_TABLES",
    "SUBMITTED_CLAIMS",
    "SUBMITTED_CLAIM_COB",
    "SUBMITTED_CLAIM_EXTRAS",
    "SUBMITTED_LINES",
    "SUBMITTED_LINE_EXTRAS",
    "Submitted",
    "SubmittedBuilder",
    "appointments_from_practice",
    "as_bool",
    "as_date",
    "as_decimal",
    "as_text",
    "check_columns",
    "cob_columns",
    "empty_frame",
    "encounter_extras",
    "encounter_facts",
    "iter_records",
    "modifiers_of",
    "practice_facts",
    "records",
    "remit_tables",
    "submitted_from_claim_records",
    "submitted_from_practice",
    "submitted_from_records",
]

# (a) remittance — DESIGN.md § Tables; the parser helper produces these.
REMIT_PAYMENTS = (
    "source_file",
    "interchange_control_number",
    "transaction_control_number",
    "payer_name",
    "payer_id",
    "payee_name",
    "payee_npi",
    "payment_method",
    "credit_debit",
    "payment_amount",
    "payment_date",
    "trace_number",
)
REMIT_CLAIMS = (
    "claim_key",
    "trace_number",
    "patient_control_number",
    "claim_status_code",
    "charge_amount",
    "paid_amount",
    "patient_responsibility",
    "claim_filing_indicator",
    "payer_claim_control_number",
    "place_of_service",
    "frequency_code",
    "patient_last_name",
    "patient_first_name",
    "patient_member_id",
    "service_date_start",
    "service_date_end",
    "reversal_of_claim_key",
    "corrected_by_claim_key",
)
REMIT_SERVICE_LINES = (
    "claim_key",
    "line_number",
    "line_control_number",
    "procedure_code",
    "modifiers",
    "charge_amount",
    "paid_amount",
    "allowed_amount",
    "units",
    "service_date",
    "original_procedure_code",
    "remark_codes",
)
REMIT_ADJUSTMENTS = (
    "claim_key",
    "line_control_number",
    "level",
    "group_code",
    "reason_code",
    "amount",
    "quantity",
)
REMIT_PROVIDER_ADJUSTMENTS = (
    "trace_number",
    "provider_id",
    "fiscal_period_date",
    "reason_code",
    "reference_id",
    "amount",
)
REMIT_TABLES: dict[str, tuple[str, ...]] = {
    "remit_payments": REMIT_PAYMENTS,
    "remit_claims": REMIT_CLAIMS,
    "remit_service_lines": REMIT_SERVICE_LINES,
    "remit_adjustments": REMIT_ADJUSTMENTS,
    "remit_provider_adjustments": REMIT_PROVIDER_ADJUSTMENTS,
}
# Columns a producer may leave out (filled with empty values): the parser sets them only
# when it knows them.
_REMIT_OPTIONAL = {
    "reversal_of_claim_key",
    "corrected_by_claim_key",
    "original_procedure_code",
    "remark_codes",
    "line_number",
    "quantity",
}

# (b) claims as submitted (837P CLM / SV1).
SUBMITTED_CLAIMS = (
    "patient_control_number",  # CLM01
    "payer_id",  # 2010BB NM109; names mappings/payers/<payer_id>.yaml
    "network_status",  # in_network | out_of_network (the payer profile's, for this practice)
    "place_of_service",  # CLM05-1
    "emergency",  # any SV109 = Y, or the encounter's emergency flag
    "frequency_code",  # CLM05-3
    "service_date_start",
    "service_date_end",
    "charge_amount",  # CLM02
    "aob",  # CLM08 = Y (benefits assigned to the practice)
    "submitted_date",  # when the 837P went out (no_response clock)
)
# Coordination of benefits (2000B SBR01, 2320): optional; empty = a primary claim.
SUBMITTED_CLAIM_COB = (
    "responsibility",  # SBR01 of the payer billed: P, S or T
    "prior_paid_amount",  # Σ 2320 AMT*D of the payers before it
    "prior_patient_responsibility",  # the last prior payer's PR (2320 CAS PR)
    "prior_adjustment_amount",  # the prior payers' CO/PI/OA (2320 CAS)
)
SUBMITTED_CLAIM_EXTRAS = (
    "patient_name",  # letters only
    "member_id",
    "diagnosis_codes",  # "M1711 M25561" or a list
    "prior_auth_number",  # REF*G1
    "clinical_notes",  # the encounter notes: clinical justification in letters
    "rendering_provider",
    "ledger_state",  # claim state from the ledger (worklist status; rejected → no no_response)
    "payer_claim_control_number",  # REF*F8 of a replacement/void: the claim it replaces
    "payer_name",
    "reject_reason",  # the 999/277CA reason of a rejected claim
    # No Surprises Act protection and appeal letters (pipeline.reconcile.nsa, appeals)
    "claim_filing_indicator",  # SBR09: Medicare/Medicaid/TRICARE are outside the federal NSA
    "facility_npi",  # 2310C: the facility's network status decides non-emergency protection
    "facility_name",
    "facility_state",  # where the service was given: which state's law may apply
    "rendering_taxonomy",  # ancillary specialties never waive protection
    "nsa_consent_date",  # notice-and-consent form signed (ISO date), empty = none
    "nsa_consent_services",  # CPT/HCPCS the consent lists, space separated
    "attachments",  # clinical documents on file for the encounter ("|" separated)
    "attachment_control_number",  # PWK06 when the attachments were sent to the payer
    "authorized_representative_date",  # the patient's designation of the practice, if any
    "aob_date",
)
SUBMITTED_LINES = (
    "patient_control_number",
    "line_control_number",  # REF*6R
    "line_number",  # LX
    "procedure_code",  # SV101-2
    "modifiers",  # SV101-3..6: "25:59", "25 59", a list, or empty
    "units",  # SV104
    "charge_amount",  # SV102
    "service_date",  # DTP*472 (empty = the claim's service_date_start)
)
SUBMITTED_LINE_EXTRAS = ("place_of_service", "emergency")  # SV105 / SV109 when they differ

# (c) eligibility — DESIGN.md § Tables ``eligibility_summary``.
ELIGIBILITY_SUMMARY = (
    "trace_number",
    "member_id",
    "last_name",
    "first_name",
    "coverage_status",
    "reject_reason_code",
    "reject_reason",
    "follow_up_action",
    "plan_description",
    "in_network_deductible",
    "in_network_deductible_remaining",
    "out_of_network_deductible",
    "out_of_network_deductible_remaining",
    "in_network_oop_max",
    "in_network_oop_remaining",
    "out_of_network_oop_max",
    "out_of_network_oop_remaining",
    "in_network_coinsurance",
    "out_of_network_coinsurance",
    "office_visit_copay",
    "prior_auth_required",
)

# (d) appointments (from the practice model).
APPOINTMENTS = (
    "appointment_id",
    "patient_id",
    "member_id",  # matches eligibility_summary.member_id
    "payer_id",
    "appointment_date",
    "place_of_service",  # empty = 11 (office)
    "procedure_codes",  # expected procedures; empty = the default visit code
    "emergency",
)


@dataclass(frozen=True)
class Submitted:
    """Claims as submitted: ``claims`` (:data:`SUBMITTED_CLAIMS`) and ``lines``."""

    claims: pd.DataFrame
    lines: pd.DataFrame


def empty_frame(columns: Iterable[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})


def check_columns(
    frame: pd.DataFrame, name: str, required: Iterable[str], optional: Iterable[str] = ()
) -> pd.DataFrame:
    """Raise naming the table and the missing columns; add absent optional ones as empty."""
    opt = set(optional)
    missing = [c for c in required if c not in frame.columns and c not in opt]
    if missing:
        raise ReconcileInputError(f"{name}: missing column(s) {', '.join(missing)}")
    # Nothing here changes a cell: a shallow copy (no array copied; a night's 835 tables were
    # deep-copied during matching) whose added columns never reach the caller's frame.
    out = frame.copy(deep=False)
    for col in (*required, *opt):
        if col not in out.columns:
            out[col] = None
    return out


def remit_tables(tables: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Check the five remittance tables; absent ones become empty frames."""
    out: dict[str, pd.DataFrame] = {}
    for name, columns in REMIT_TABLES.items():
        frame = tables.get(name)
        if frame is None:
            out[name] = empty_frame(columns)
        else:
            out[name] = check_columns(frame, name, columns, _REMIT_OPTIONAL & set(columns))
    return out


def records(frame: pd.DataFrame | None) -> list[dict[str, Any]]:
    """Rows as dicts with NaN/NaT/None all turned into None.

    Column by column: a column whose cells are all plain Python values (text, Decimal, dates,
    ints) is taken as it is; only one holding floats or NumPy/pandas scalars is looked at cell
    by cell (NumPy scalars become Python ones, as ``DataFrame.to_dict`` makes them).
    """
    if frame is None or frame.empty:
        return []
    names = [str(k) for k in frame.columns]
    columns = [_native_column(frame.iloc[:, i]) for i in range(len(names))]
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def iter_records(frame: pd.DataFrame | None) -> Iterator[dict[str, Any]]:
    """:func:`records` one row at a time: a caller that keeps no row holds one dict, not
    one per row (a claim's 36 columns cost ~1 KiB as a dict)."""
    if frame is None or frame.empty:
        return iter(())
    names = [str(k) for k in frame.columns]
    columns = [_native_column(frame.iloc[:, i]) for i in range(len(names))]
    return (dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True))


# Types a cell keeps as it is (not missing, nothing to unbox).
_PLAIN_CELLS = frozenset(
    {str, int, bool, Decimal, date, datetime, pd.Timestamp, list, tuple, dict, type(None)}
)


def _native_column(column: pd.Series) -> list[Any]:
    # What DataFrame.to_dict does to each cell (pandas-stubs do not list it).
    from pandas.core.dtypes.cast import maybe_box_native  # type: ignore[attr-defined]

    cells: list[Any] = column.astype(object).tolist()
    kinds = set(map(type, cells))
    if kinds <= _PLAIN_CELLS:
        return cells
    if kinds <= _PLAIN_CELLS | {float}:
        return [None if v.__class__ is float and v != v else v for v in cells]
    return [None if _is_missing(b := maybe_box_native(v)) else b for v in cells]


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and value != value:
        return True
    return value is pd.NaT


def as_decimal(value: object, *, where: str = "") -> Decimal | None:
    """Decimal from Decimal/int/str; floats go through ``str`` (never binary noise)."""
    if value.__class__ is Decimal:  # the usual cell: no checks needed
        return value
    if _is_missing(value) or value == "":
        return None
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ReconcileInputError(f"{where}: {value!r} is not an amount") from exc


def as_date(value: object, *, where: str = "") -> date | None:
    if value.__class__ is date:  # the usual cell: no checks needed
        return value
    if _is_missing(value) or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return _date_of(str(value).strip())
    except ValueError as exc:
        raise ReconcileInputError(f"{where}: {value!r} is not a date") from exc


@lru_cache(maxsize=4096)
def _date_of(text: str) -> date:
    # One date object per distinct text (a night's cells name a few hundred days; each
    # parse made a new one, held by every claim and line matched). Dates are immutable.
    if len(text) == 8 and text.isdigit():
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    return date.fromisoformat(text[:10])


def as_text(value: object) -> str:
    if value.__class__ is str:  # the usual cell: no checks needed
        return value.strip()
    if _is_missing(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def as_bool(value: object) -> bool:
    if _is_missing(value):
        return False
    if isinstance(value, bool):
        return value
    return str(value).strip().upper() in {"Y", "YES", "TRUE", "1", "T"}


def modifiers_of(value: object) -> tuple[str, ...]:
    """``"25:59"``, ``"25 59"``, ``"25,59"`` or a list → ``("25", "59")``."""
    if _is_missing(value):
        return ()
    if isinstance(value, (list, tuple)):
        items = [as_text(v) for v in value]
    else:
        items = str(value).replace(",", " ").replace(":", " ").replace("^", " ").split()
    return tuple(m.upper() for m in items if m)


def submitted_from_records(
    claims: Iterable[Mapping[str, Any]], lines: Iterable[Mapping[str, Any]]
) -> Submitted:
    """Build :class:`Submitted` from plain dicts (tests, the ledger, any exporter)."""
    claim_frame = pd.DataFrame(list(claims))
    line_frame = pd.DataFrame(list(lines))
    if claim_frame.empty:
        claim_frame = empty_frame(SUBMITTED_CLAIMS)
    if line_frame.empty:
        line_frame = empty_frame(SUBMITTED_LINES)
    claim_frame = check_columns(
        claim_frame,
        "submitted claims",
        ("patient_control_number", "payer_id", "service_date_start", "charge_amount"),
        (*SUBMITTED_CLAIMS, *SUBMITTED_CLAIM_COB, *SUBMITTED_CLAIM_EXTRAS),
    )
    line_frame = check_columns(
        line_frame,
        "submitted lines",
        ("patient_control_number", "procedure_code", "charge_amount"),
        (*SUBMITTED_LINES, *SUBMITTED_LINE_EXTRAS),
    )
    return Submitted(claims=claim_frame, lines=line_frame)


def submitted_from_claim_records(
    claims: Iterable[Any],
    network_status: Mapping[str, str],
    *,
    submitted_dates: Mapping[str, date] | None = None,
    default_submitted: date | None = None,
    notes: Mapping[str, str] | None = None,
    ledger_states: Mapping[str, str] | None = None,
    reject_reasons: Mapping[str, str] | None = None,
    encounter_facts: Mapping[str, Mapping[str, str]] | None = None,
) -> Submitted:
    """Claims as submitted from 837P claim records (``pipeline.practice.records.ClaimRecord``:
    what the builder wrote, or ``pipeline.parse.t837p.read_837p`` of the files sent).

    ``network_status``: payer_id → in_network / out_of_network; ``submitted_dates``: PCN → the
    day the 837P went out (else ``default_submitted``); ``notes``: PCN → encounter notes;
    ``reject_reasons``: PCN → the 999/277CA reason of a rejected claim;
    ``encounter_facts``: PCN → more extras the 837P does not carry (:func:`encounter_extras`).
    A PCN given twice gives two rows (see :class:`SubmittedBuilder` for one row per PCN).
    """
    facts = encounter_facts or {}
    builder = SubmittedBuilder(network_status, notes=notes, encounter_facts=facts.get)
    for rec in claims:
        pcn = rec.patient_control_number
        builder.add(rec, (submitted_dates or {}).get(pcn, default_submitted))
    return builder.build(ledger_states=ledger_states, reject_reasons=reject_reasons)


# Frame order of the claim columns (a record's, then the encounter's, then COB).
_CLAIM_ORDER = (
    *SUBMITTED_CLAIMS,
    "patient_name",
    "member_id",
    "diagnosis_codes",
    "prior_auth_number",
    "clinical_notes",
    "rendering_provider",
    "ledger_state",
    "payer_claim_control_number",
    "payer_name",
    "reject_reason",
    "claim_filing_indicator",
    "facility_npi",
    "facility_name",
    "facility_state",
    "rendering_taxonomy",
    "nsa_consent_date",
    "nsa_consent_services",
    "attachments",
    "attachment_control_number",
    "authorized_representative_date",
    "aob_date",
    *SUBMITTED_CLAIM_COB,
)
_LINE_ORDER = (*SUBMITTED_LINES, *SUBMITTED_LINE_EXTRAS)
# Columns whose text is unique to a claim or line: not worth looking up to share.
_UNIQUE = frozenset({"patient_control_number", "line_control_number"})


class SubmittedBuilder:
    """:class:`Submitted` built one 837P claim record at a time, straight into columns.

    A night's records cost several times their rows, so each record becomes its row when it
    is added and can be let go; equal texts in a column (payer ids, codes, names, NPIs) are
    kept once, not once per cell. ``add(..., replace=True)`` keeps one row per PCN: a PCN
    added again (a resent claim) has its row and lines replaced where they stood, and keeps
    the date it was first sent. Ledger states and reject reasons, known only once every file
    is read, are given to :meth:`build`. The frames match :func:`submitted_from_records` of
    the same rows (every optional column present).
    """

    def __init__(
        self,
        network_status: Mapping[str, str],
        *,
        notes: Mapping[str, str] | None = None,
        encounter_facts: Callable[[str], Mapping[str, str] | None] | None = None,
    ) -> None:
        self._network = network_status
        self._notes = notes or {}
        self._facts = encounter_facts
        self._claims: dict[str, list[Any]] = {c: [] for c in _CLAIM_ORDER}
        self._lines: dict[str, list[Any]] = {c: [] for c in _LINE_ORDER}
        self._spans: list[range] = []  # each claim's rows in ``_lines``
        self._row: dict[str, int] = {}  # PCN → its claim row (the first, without replace)
        self._replaced = False
        self._texts: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self._spans)

    @property
    def patient_control_numbers(self) -> list[str]:
        """One per row, in row order."""
        return list(self._claims["patient_control_number"])

    def add(self, rec: Any, submitted: date | None, *, replace: bool = False) -> None:
        """One claim record (``pipeline.practice.records.ClaimRecord``) sent on ``submitted``."""
        pcn = rec.patient_control_number
        start = len(self._lines["patient_control_number"])
        for line in rec.lines:
            self._append(self._lines, _line_row(pcn, line))
        span = range(start, len(self._lines["patient_control_number"]))
        row = self._claim_row(rec)
        at = self._row.get(pcn) if replace else None
        if at is None:
            self._row.setdefault(pcn, len(self._spans))
            self._append(self._claims, row | {"submitted_date": submitted})
            self._spans.append(span)
            return
        for name, cells in self._claims.items():
            if name != "submitted_date":  # the day it was first sent
                cells[at] = self._cell(name, row.get(name))
        self._spans[at] = span
        self._replaced = True

    def build(
        self,
        *,
        ledger_states: Mapping[str, str] | None = None,
        reject_reasons: Mapping[str, str] | None = None,
    ) -> Submitted:
        """The frames (the builder is spent: its columns are handed over, not copied)."""
        if not self._spans:
            return submitted_from_records([], [])
        pcns = self._claims["patient_control_number"]
        self._claims["ledger_state"] = [(ledger_states or {}).get(p, "") for p in pcns]
        self._claims["reject_reason"] = [(reject_reasons or {}).get(p, "") for p in pcns]
        lines = self._lines
        if self._replaced:  # lines of a replaced claim: only its latest, where it stood
            rows = [i for span in self._spans for i in span]
            lines = {name: [cells[i] for i in rows] for name, cells in lines.items()}
        claims, self._claims, self._lines = self._claims, {}, {}
        return Submitted(claims=_frame(claims), lines=_frame(lines))

    def _claim_row(self, rec: Any) -> dict[str, Any]:
        pcn = rec.patient_control_number
        lines = rec.lines
        dates = [ln.service_date for ln in lines if ln.service_date]
        patient = rec.patient
        facts = self._facts(pcn) if self._facts is not None else None
        return {
            "patient_control_number": pcn,
            "payer_id": rec.payer_id,
            "network_status": self._network.get(rec.payer_id, ""),
            "place_of_service": rec.place_of_service,
            "emergency": any(ln.emergency for ln in lines),
            "frequency_code": rec.frequency,
            "service_date_start": min(dates) if dates else None,
            "service_date_end": max(dates) if dates else None,
            "charge_amount": rec.total_charge,
            "aob": rec.benefits_assignment == "Y",
            "patient_name": f"{patient.first_name} {patient.last_name}".strip().title(),
            "member_id": rec.member_id,
            "diagnosis_codes": " ".join(rec.diagnoses),
            "prior_auth_number": rec.prior_auth,
            "clinical_notes": self._notes.get(pcn, ""),
            "rendering_provider": rec.rendering_npi,
            "payer_claim_control_number": rec.original_claim_number,
            "payer_name": rec.payer_name,
            **_record_extras(rec),
            **(facts or {}),
        } | cob_columns(rec)

    def _append(self, columns: dict[str, list[Any]], row: Mapping[str, Any]) -> None:
        # A column a row does not fill is None (what records() makes of a missing cell).
        for name, cells in columns.items():
            cells.append(self._cell(name, row.get(name)))

    def _cell(self, name: str, value: Any) -> Any:
        if value.__class__ is not str or name in _UNIQUE:
            return value  # dates and amounts come shared from the 837P reader
        return self._texts.setdefault(value, value)


def _line_row(pcn: str, ln: Any) -> dict[str, Any]:
    return {
        "patient_control_number": pcn,
        "line_control_number": ln.line_control_number,
        "line_number": ln.line_number,
        "procedure_code": ln.procedure_code,
        "modifiers": " ".join(ln.modifiers),
        "units": ln.units,
        "charge_amount": ln.charge,
        "service_date": ln.service_date,
        "place_of_service": ln.place_of_service,
        "emergency": ln.emergency,
    }


def _frame(columns: dict[str, list[Any]]) -> pd.DataFrame:
    """One column at a time, each list let go once it is an array."""
    frame = pd.DataFrame(index=pd.RangeIndex(len(next(iter(columns.values())))))
    for name in list(columns):
        frame[name] = columns.pop(name)
    return frame


_RANK = {"P": 1, "S": 2, "T": 3}


def cob_columns(rec: Any) -> dict[str, Any]:
    """:data:`SUBMITTED_CLAIM_COB` from an 837P claim record's 2000B SBR01, 2320 and 2430
    loops: the prior payers' paid (AMT*D) and adjustments (claim-level 2320 CAS and each line's
    2430 CAS), and the patient share the last of them left. A payer named in 2320 that has not
    adjudicated the claim (no AMT*D: the secondary on a primary claim) is not prior."""
    responsibility = str(rec.responsibility or "P").upper()
    rank = _RANK.get(responsibility, 1)
    prior = [
        o
        for o in rec.other_payers
        if o.paid_amount is not None and _RANK.get(str(o.responsibility).upper(), 1) < rank
    ]
    if rank == 1 or not prior:
        return {"responsibility": responsibility}
    last = max(prior, key=lambda o: _RANK.get(str(o.responsibility).upper(), 1))

    def adjustments(payer: Any) -> list[Any]:
        lines = [
            a
            for ln in rec.lines
            for adj in getattr(ln, "adjudications", ())
            if adj.payer_id == payer.payer_id
            for a in adj.adjustments
        ]
        return [*payer.adjustments, *lines]

    return {
        "responsibility": responsibility,
        "prior_paid_amount": sum((o.paid_amount for o in prior), Decimal(0)),
        "prior_patient_responsibility": sum(
            (a.amount for a in adjustments(last) if a.group_code == "PR"), Decimal(0)
        ),
        "prior_adjustment_amount": sum(
            (a.amount for o in prior for a in adjustments(o) if a.group_code != "PR"), Decimal(0)
        ),
    }


def _record_extras(rec: Any) -> dict[str, str]:
    facility = rec.service_facility
    return {
        "claim_filing_indicator": rec.claim_filing_indicator,
        "facility_npi": facility.npi if facility else "",
        "facility_name": facility.name if facility else "",
        "facility_state": facility.state if facility else "",
        "rendering_taxonomy": rec.rendering_taxonomy,
    }


def encounter_extras(practice: Any) -> dict[str, dict[str, str]]:
    """PCN → the encounter facts letters and NSA protection need that no 837P carries."""
    return {
        enc.patient_control_number: encounter_facts(practice, enc) for enc in practice.encounters
    }


def encounter_facts(practice: Any, enc: Any) -> dict[str, str]:
    """:func:`encounter_extras` of one encounter."""
    patient = practice.patients.get(enc.patient_id)
    consent = getattr(enc, "nsa_consent_date", None)
    rep = getattr(patient, "authorized_representative_date", None) if patient else None
    aob_date = getattr(patient, "aob_date", None) if patient else None
    return {
        "nsa_consent_date": consent.isoformat() if consent else "",
        "nsa_consent_services": " ".join(getattr(enc, "nsa_consent_services", []) or []),
        "attachments": "|".join(getattr(enc, "attachments", []) or []),
        "attachment_control_number": getattr(enc, "attachment_control_number", None) or "",
        "authorized_representative_date": rep.isoformat() if rep else "",
        "aob_date": aob_date.isoformat() if aob_date else "",
    }


def submitted_from_practice(
    practice: Any,
    *,
    submitted_dates: Mapping[str, date] | None = None,
    default_submitted: date | None = None,
    ledger_states: Mapping[str, str] | None = None,
) -> Submitted:
    """Claims as submitted, rebuilt from the canonical practice model
    (``pipeline.practice.load_practice(folder).practice``) with the 837P builder's own
    ``claim_record`` — so lines, REF*6R and CLM08 are exactly what was sent. Encounters the
    builder cannot turn into a claim (no coverage) are skipped; pass ``submitted_dates`` /
    ``ledger_states`` from the ledger to keep held or rejected claims out of no_response.
    """
    from pipeline.build.t837p import ClaimContext, claim_record

    context = ClaimContext(practice)
    records = []
    notes: dict[str, str] = {}
    for encounter in practice.encounters:
        try:
            records.append(claim_record(practice, encounter, context=context))
        except (KeyError, ValueError):
            continue  # no coverage / unknown payer: the scrubber holds these, nothing was sent
        notes[encounter.patient_control_number] = encounter.clinical_notes or ""
    network = {pid: str(p.network_status) for pid, p in practice.payers.items()}
    return submitted_from_claim_records(
        records,
        network,
        submitted_dates=submitted_dates,
        default_submitted=default_submitted,
        notes=notes,
        ledger_states=ledger_states,
        encounter_facts=encounter_extras(practice),
    )


def appointments_from_practice(practice: Any) -> pd.DataFrame:
    """:data:`APPOINTMENTS` from the practice model (primary coverage; office visit)."""
    rows = []
    for appt in practice.appointments:
        coverage = practice.coverage_for(appt.patient_id, "P")
        rows.append(
            {
                "appointment_id": appt.appointment_id,
                "patient_id": appt.patient_id,
                # A dependent with an id of their own is asked about (and answered) under it.
                "member_id": (coverage.patient_member_id or coverage.member_id) if coverage else "",
                "payer_id": coverage.payer_id if coverage else "",
                "appointment_date": appt.date,
                "place_of_service": "11",
                "procedure_codes": "",
                "emergency": False,
            }
        )
    return pd.DataFrame(rows, columns=list(APPOINTMENTS)) if rows else empty_frame(APPOINTMENTS)


def practice_facts(practice: Any) -> dict[str, str]:
    """Billing provider facts for the letters' letterhead."""
    bp = practice.billing_provider
    a = bp.address
    street = " ".join(x for x in (a.line1, getattr(a, "line2", None)) if x)
    zip_code = f"{a.zip[:5]}-{a.zip[5:]}" if len(a.zip) == 9 else a.zip
    phone = "".join(ch for ch in str(bp.phone) if ch.isdigit())
    if len(phone) == 10:
        phone = f"({phone[:3]}) {phone[3:6]}-{phone[6:]}"
    return {
        "name": bp.name,
        "npi": bp.npi,
        "tax_id": bp.ein,
        "address": f"{street}, {a.city}, {a.state} {zip_code}",
        "phone": phone or str(bp.phone),
        "state": a.state,
        "contact": bp.contact_name,
    }
