"""Code sets by date of service: ICD-10-CM, CPT/HCPCS, NCCI-style pairs (``mappings/codes``).

Two kinds of source, merged:

* **curated tables** shipped with claimflow (``icd10cm.csv``, ``procedures_valid.csv``,
  ``ncci_ptp.csv``): the codes the demo and tests use and the well-known deletions, each
  row a validity window with the attributes the edits need (laterality, sex, age range,
  PC/TC indicator). They are *partial*: a code they do not list is unknown, and
  ``code_sets.yaml`` says whether unknown warns or holds.
* **CMS files** a user drops into ``mappings/codes/cms/``: the ICD-10-CM "code
  descriptions in tabular order" (``icd10cm_order_YYYY.txt``, or ``icd10cm_codes_YYYY.txt``)
  and the HCPCS Level II contractor file (``HCPCYYYY_*ANWEB*.txt``). A file is *complete*
  for its period (ICD-10-CM fiscal year YYYY: YYYY-1-10-01 to YYYY-09-30; HCPCS calendar
  year YYYY): for a date of service in that period a code it does not list is invalid.

CPT descriptors are the AMA's: no CPT text is shipped or read, only codes and dates.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal

import yaml

from pipeline.errors import ConfigError

__all__ = [
    "ClinicalCodes",
    "CodeWindow",
    "Lookup",
    "PtpEdit",
    "fiscal_year",
    "laterality_of",
    "load_clinical_codes",
    "read_hcpcs_file",
    "read_icd10cm_file",
]

Status = Literal["valid", "not_billable", "invalid", "unknown"]
_OPEN_END = date(9999, 12, 31)
_ICD_FILE = re.compile(r"icd10cm_(order|codes)_(\d{4})\.txt$", re.IGNORECASE)
_HCPCS_FILE = re.compile(r"HCPC(\d{4})[^/]*\.txt$", re.IGNORECASE)
# Laterality read from a CMS long description ("Pain in right knee", "..., bilateral").
_SIDES = (
    ("B", re.compile(r"\bbilateral\b", re.IGNORECASE)),
    ("U", re.compile(r"\bunspecified (side|knee|shoulder|hip|ankle|foot|hand|arm|leg|ear|eye|"
                     r"elbow|wrist|lower leg|upper arm|forearm|thigh|lung|kidney|breast)\b",
                     re.IGNORECASE)),
    ("R", re.compile(r"\bright\b", re.IGNORECASE)),
    ("L", re.compile(r"\bleft\b", re.IGNORECASE)),
)  # fmt: skip


def fiscal_year(day: date) -> int:
    """The ICD-10-CM fiscal year of a date (FY 2026 runs 2025-10-01 to 2026-09-30)."""
    return day.year + 1 if day.month >= 10 else day.year


def laterality_of(description: str) -> str:
    """R, L, B (bilateral), U (side unspecified) or '' from an ICD-10-CM description."""
    found = {side for side, pattern in _SIDES if pattern.search(description)}
    if "B" in found or {"R", "L"} <= found:
        return "B"
    for side in ("U", "R", "L"):
        if side in found:
            return side
    return ""


@dataclass(frozen=True, slots=True)
class CodeWindow:
    """One code over one validity window, with what the edits need to know about it."""

    code: str
    effective_from: date
    effective_to: date = _OPEN_END
    billable: bool = True
    laterality: str = ""
    sex: str = ""
    age_min: int | None = None
    age_max: int | None = None
    replaced_by: tuple[str, ...] = ()
    pctc_indicator: str = ""
    source: str = "curated"

    def covers(self, day: date) -> bool:
        return self.effective_from <= day <= self.effective_to


@dataclass(frozen=True, slots=True)
class Lookup:
    """A code on a date of service: what the scrubber decides from."""

    status: Status
    window: CodeWindow | None = None
    """The window that covers the date; the nearest one when the code is invalid then."""
    complete: bool = False
    """The answer comes from a complete (CMS) file for that date."""
    hints: tuple[str, ...] = ()
    """Codes to use instead (``replaced_by``)."""


@dataclass(frozen=True, slots=True)
class PtpEdit:
    """An NCCI-style procedure-to-procedure edit: column 2 is part of column 1."""

    column1: str
    column2: str
    effective_from: date
    effective_to: date
    modifier_indicator: str
    """0 never billed together; 1 allowed with an NCCI-associated modifier; 9 not applicable."""
    rationale: str = ""


@dataclass
class _Table:
    """Windows per code from the curated table, and per period from complete CMS files."""

    windows: dict[str, list[CodeWindow]] = field(default_factory=dict)
    complete: dict[int, dict[str, CodeWindow]] = field(default_factory=dict)
    """Period (FY or year) -> code -> window, from CMS files."""

    def add(self, window: CodeWindow) -> None:
        self.windows.setdefault(window.code, []).append(window)

    def lookup(self, code: str, day: date, period: int) -> Lookup:
        curated = self.windows.get(code, [])
        covering = next((w for w in curated if w.covers(day)), None)
        hints = next((w.replaced_by for w in curated if w.replaced_by), ())
        listed = self.complete.get(period)
        if listed is not None:
            found = listed.get(code)
            if found is None or not found.covers(day):  # not listed, or terminated by then
                return Lookup("invalid", found or covering or _nearest(curated, day), True, hints)
            window = _merged(found, covering)
            return Lookup("valid" if found.billable else "not_billable", window, True, hints)
        if covering is not None:
            status: Status = "valid" if covering.billable else "not_billable"
            return Lookup(status, covering, False, hints)
        if curated:
            return Lookup("invalid", _nearest(curated, day), False, hints)
        return Lookup("unknown")


def _merged(cms: CodeWindow, curated: CodeWindow | None) -> CodeWindow:
    """A CMS window with the curated attributes CMS files do not carry (sex, age, PC/TC)."""
    if curated is None:
        return cms
    return CodeWindow(
        cms.code, cms.effective_from, cms.effective_to, cms.billable,
        curated.laterality or cms.laterality, curated.sex, curated.age_min, curated.age_max,
        curated.replaced_by, curated.pctc_indicator, cms.source,
    )  # fmt: skip


def _nearest(windows: list[CodeWindow], day: date) -> CodeWindow | None:
    if not windows:
        return None
    return min(windows, key=lambda w: min(abs((w.effective_from - day).days),
                                          abs((w.effective_to - day).days)))  # fmt: skip


@dataclass
class ClinicalCodes:
    """Everything the code-set edits consult (built by :func:`load_clinical_codes`)."""

    icd10: _Table = field(default_factory=_Table)
    procedures: _Table = field(default_factory=_Table)
    ptp: dict[str, list[PtpEdit]] = field(default_factory=dict)
    """Column-2 code -> its edits."""
    unknown_code: Literal["warning", "error"] = "warning"
    facility_places_of_service: frozenset[str] = frozenset()
    ncci_modifiers: frozenset[str] = frozenset()
    laterality_modifiers: dict[str, str] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    """What was loaded (file names), for ``claimflow`` to say which code sets it used."""

    def diagnosis(self, code: str, day: date) -> Lookup:
        return self.icd10.lookup(code, day, fiscal_year(day))

    def procedure(self, code: str, day: date) -> Lookup:
        # Only HCPCS Level II has a public complete file; CPT stays partial.
        period = day.year if code[:1].isalpha() else -1
        return self.procedures.lookup(code, day, period)

    def pairs(self, column2: str, day: date) -> Iterator[PtpEdit]:
        for edit in self.ptp.get(column2, ()):
            if edit.effective_from <= day <= edit.effective_to:
                yield edit


# --- loading ---------------------------------------------------------------------------------


def load_clinical_codes(codes_dir: Path) -> ClinicalCodes:
    """The curated tables and policy in ``codes_dir``, plus any CMS files in ``codes_dir/cms``."""
    clinical = ClinicalCodes()
    _policy(codes_dir / "code_sets.yaml", clinical)
    for window in _curated(codes_dir / "icd10cm.csv", pctc=False):
        clinical.icd10.add(window)
    for window in _curated(codes_dir / "procedures_valid.csv", pctc=True):
        clinical.procedures.add(window)
    for edit in _ptp(codes_dir / "ncci_ptp.csv"):
        clinical.ptp.setdefault(edit.column2, []).append(edit)
    cms = codes_dir / "cms"
    files = sorted(cms.glob("*.txt")) if cms.is_dir() else []
    # Order files first: a codes file of the same fiscal year then adds nothing.
    for path in sorted(files, key=lambda p: not p.name.lower().startswith("icd10cm_order")):
        _cms_file(path, clinical)
    return clinical


def _cms_file(path: Path, clinical: ClinicalCodes) -> None:
    icd = _ICD_FILE.search(path.name)
    if icd is not None:
        fy = int(icd.group(2))
        if icd.group(1).lower() == "codes" and fy in clinical.icd10.complete:
            return  # the order file of the same year says more (headers too)
        clinical.icd10.complete[fy] = {w.code: w for w in read_icd10cm_file(path, fy)}
        clinical.sources.append(path.name)
        return
    hcpcs = _HCPCS_FILE.search(path.name)
    if hcpcs is not None:
        year = int(hcpcs.group(1))
        listed = clinical.procedures.complete.setdefault(year, {})
        listed.update((w.code, w) for w in read_hcpcs_file(path))
        clinical.sources.append(path.name)


def read_icd10cm_file(path: Path, fy: int) -> Iterator[CodeWindow]:
    """A CMS ICD-10-CM file of fiscal year ``fy``: the order file or the codes file.

    Order file (fixed width): order number 1-5, code 7-13, 1 = billable / 0 = header
    at 15, short description 17-76, long description from 78. Codes file: the code,
    blanks, the long description (billable codes only).
    """
    start, end = date(fy - 1, 10, 1), date(fy, 9, 30)
    order = path.name.lower().startswith("icd10cm_order")
    for number, line in _lines(path):
        if not line.strip():
            continue
        if order:
            code, flag, description = line[6:13].strip(), line[14:15], line[77:].strip()
            if flag not in {"0", "1"} or not code:
                raise ConfigError(f"{path}: line {number}: not the ICD-10-CM order file layout")
            billable = flag == "1"
        else:
            code, _, description = line.strip().partition(" ")
            billable = True
        yield CodeWindow(code, start, end, billable, laterality_of(description),
                         source=path.name)  # fmt: skip


def read_hcpcs_file(path: Path) -> Iterator[CodeWindow]:
    """The CMS HCPCS contractor file (``HCPCYYYY_*_ANWEB*.txt``, 320-character records).

    Positions (HCPCYYYY_recordlayout.txt): code 1-5, sequence 6-10, record id 11 (3 the
    first line of a procedure, 7 of a modifier; 4/8 continue a description), long
    description 12-91, code added 269-276, action effective 277-284, termination
    285-292 (YYYYMMDD). Procedure records only; modifiers live in ``modifiers.csv``.
    """
    for number, line in _lines(path):
        if len(line) < 11 or line[10] != "3":
            continue
        code = line[0:5].strip()
        try:
            added = _yyyymmdd(line[268:276]) or _yyyymmdd(line[276:284])
            ends = _yyyymmdd(line[284:292]) or _OPEN_END
        except ValueError as exc:
            raise ConfigError(f"{path}: line {number}: a date is not YYYYMMDD") from exc
        yield CodeWindow(code, added or date(1900, 1, 1), ends, source=path.name)


def _yyyymmdd(text: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    return date(int(text[:4]), int(text[4:6]), int(text[6:8]))


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    try:
        with path.open(encoding="latin-1", newline="") as fh:  # CMS files are ASCII/Latin-1
            for number, line in enumerate(fh, start=1):
                yield number, line.rstrip("\r\n")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc


def _rows(path: Path, required: Iterable[str]) -> Iterator[tuple[int, dict[str, str]]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in required if c not in (reader.fieldnames or ())]
            if missing:
                raise ConfigError(f"{path}: missing column(s) {', '.join(missing)}")
            for row in reader:
                yield reader.line_num, {k: (v or "").strip() for k, v in row.items() if k}
    except FileNotFoundError:
        return
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc


def _date(path: Path, number: int, text: str, default: date | None = None) -> date:
    if not text:
        if default is None:
            raise ConfigError(f"{path}: row {number}: a date is required")
        return default
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ConfigError(f"{path}: row {number}: {text!r} is not an ISO date") from exc


def _age(path: Path, number: int, text: str) -> int | None:
    if not text:
        return None
    if not text.isdigit():
        raise ConfigError(f"{path}: row {number}: age {text!r} is not whole years")
    return int(text)


def _curated(path: Path, *, pctc: bool) -> Iterator[CodeWindow]:
    required = ["code", "effective_from", "effective_to", "sex", "age_min", "age_max"]
    for number, row in _rows(path, required):
        yield CodeWindow(
            code=row["code"].replace(".", "").upper(),
            effective_from=_date(path, number, row["effective_from"]),
            effective_to=_date(path, number, row["effective_to"], _OPEN_END),
            billable=row.get("billable", "Y").upper() != "N",
            laterality=row.get("laterality", "").upper(),
            sex=row["sex"].upper(),
            age_min=_age(path, number, row["age_min"]),
            age_max=_age(path, number, row["age_max"]),
            replaced_by=tuple(c for c in row.get("replaced_by", "").split("|") if c),
            pctc_indicator=row.get("pctc_indicator", "") if pctc else "",
            source=path.name,
        )


def _ptp(path: Path) -> Iterator[PtpEdit]:
    required = ["column1", "column2", "effective_from", "effective_to", "modifier_indicator"]
    for number, row in _rows(path, required):
        if row["modifier_indicator"] not in {"0", "1", "9"}:
            raise ConfigError(f"{path}: row {number}: modifier_indicator must be 0, 1 or 9")
        yield PtpEdit(
            row["column1"], row["column2"], _date(path, number, row["effective_from"]),
            _date(path, number, row["effective_to"], _OPEN_END), row["modifier_indicator"],
            row.get("rationale", ""),
        )  # fmt: skip


def _policy(path: Path, clinical: ClinicalCodes) -> None:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: not a valid code-set policy: {exc}") from exc
    data = data or {}
    unknown = data.get("unknown_code", "warning")
    if unknown not in {"warning", "error"}:
        raise ConfigError(f"{path}: unknown_code must be warning or error")
    clinical.unknown_code = unknown
    clinical.facility_places_of_service = frozenset(
        str(p) for p in data.get("facility_places_of_service", ())
    )
    clinical.ncci_modifiers = frozenset(str(m) for m in data.get("ncci_modifiers", ()))
    sides = data.get("laterality_modifiers", {}) or {}
    clinical.laterality_modifiers = {str(m): str(s) for m, s in sides.items()}
