"""Load a practice export (CSV files) through the column maps in ``mappings/practice``.

Each map names, for each of our fields, the PM system's column and how to read it
(``mappings/practice/README.md``). A value that cannot be read becomes an
:class:`Issue` (file, row, column, reason; never the value, which may be PHI); its
row is skipped and every other row still loads. That includes bytes that are not
UTF-8 (a Latin-1 export: the rows holding them are reported) and oversized cells;
UTF-16 files (with or without a byte-order mark) are read as such. A patient account
number on two rows that disagree is kept as the first row but recorded in
:attr:`Practice.patient_conflicts`, so the scrubber holds that patient's claims
rather than bill another person's name. Only an export that is unusable as a whole (a
required file or column missing, no patient rows, a broken map) raises
:class:`~pipeline.errors.PracticeDataError` / :class:`~pipeline.errors.ConfigError`.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from pipeline.errors import ConfigError, PracticeDataError
from pipeline.practice.model import (
    Appointment,
    BillingProvider,
    Charge,
    ClaimAdjustment,
    Coverage,
    Encounter,
    Patient,
    Payer,
    Practice,
    PrimaryAdjudication,
    PrimaryLineAdjudication,
    Provider,
    ServiceFacility,
)

__all__ = ["MAX_CELL_CHARS", "Issue", "LoadResult", "load_payers", "load_practice"]

MAX_CELL_CHARS = 4096
"""Longest value a cell may hold; a longer one is a broken export (a runaway quote, a blob)."""
# Python's csv module refuses fields over 128 KiB with an error that loses the column;
# while a file is read the limit is raised so the cell is read and reported by name.
_CSV_FIELD_LIMIT = 1 << 26
_UNDECODABLE = re.compile("[\udc80-\udcff]")  # bytes that were not UTF-8 (surrogateescape)
NOT_UTF8 = "not UTF-8 text (a Latin-1/Windows-1252 export?): save the file as UTF-8"


@dataclass(frozen=True, slots=True)
class Issue:
    """One value (or row) of the export that could not be used."""

    file: str
    row: int
    """Line number in the CSV file (the header is line 1)."""
    column: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: row {self.row}, column {self.column!r}: {self.reason}"


@dataclass(slots=True)
class LoadResult:
    practice: Practice
    issues: list[Issue] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _FieldSpec:
    name: str
    columns: tuple[str, ...]
    many: bool = False  # ``columns:`` given: a list built from several columns
    fmt: str | None = None
    split: str | None = None
    values: Mapping[str, str] | None = None
    strip: str = ""
    upper: bool = True
    optional: bool = False
    default: str | None = None
    parse: str | None = None

    @property
    def label(self) -> str:
        return self.columns[0] if len(self.columns) == 1 else "/".join(self.columns)


@dataclass(frozen=True, slots=True)
class _TableMap:
    source: Path
    file: str
    optional: bool
    fields: tuple[_FieldSpec, ...]


class _CellError(ValueError):
    """A cell that cannot be read (carries the column)."""

    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason


def _default_mappings() -> Path:
    from pipeline.settings import get_settings

    return get_settings().mappings_dir


def load_practice(
    folder: str | Path,
    *,
    mappings_dir: str | Path | None = None,
    charges: bool = True,
) -> LoadResult:
    """Read every export in ``folder`` into a :class:`Practice`, with the issues found.

    ``charges=False``: encounters without their charges and primary EOBs — who was seen when,
    all the clearinghouse simulator's member file needs (half the rows of a practice)."""
    from pipeline.benchnight import stage

    with stage("practice load"):
        return _load_practice(Path(folder), mappings_dir, charges)


def _load_practice(folder: Path, mappings_dir: str | Path | None, charges: bool) -> LoadResult:
    mappings = Path(mappings_dir) if mappings_dir is not None else _default_mappings()
    if not folder.is_dir():
        raise PracticeDataError(f"{folder}: practice folder does not exist")
    maps = mappings / "practice"
    issues: list[Issue] = []
    pool: dict[object, Any] = {}

    def table(name: str, model: type[BaseModel]) -> list[tuple[int, Any]]:
        tmap = _read_map(maps / f"{name}.yaml")
        return [(n, _share(m, pool)) for n, m in _load_table(folder, tmap, model, issues)]

    billing_rows = table("billing_provider", BillingProvider)
    if not billing_rows:
        raise PracticeDataError(
            f"{folder / 'billing_provider.csv'}: no usable billing provider row"
        )
    payers = load_payers(mappings / "payers")
    providers = {p.provider_id: p for _, p in table("providers", Provider)}
    patient_rows = table("patients", Patient)
    if not patient_rows:
        raise PracticeDataError(_no_patients(folder, maps, issues))
    patients, conflicts = _patients(patient_rows, issues)
    facilities = {f.facility_id: f for _, f in table("facilities", ServiceFacility)}

    coverages: list[Coverage] = []
    for row, c in table("coverages", Coverage):
        if _known(c.patient_id, patients, "coverages.csv", row, "patient_id", issues) and _known(
            c.payer_id, payers, "coverages.csv", row, "payer_id", issues
        ):
            coverages.append(c)
    appointments = [
        a
        for row, a in table("appointments", Appointment)
        if _known(a.patient_id, patients, "appointments.csv", row, "patient_id", issues)
    ]
    encounters: dict[str, Encounter] = {}
    for row, e in table("encounters", Encounter):
        if not _known(e.patient_id, patients, "encounters.csv", row, "patient_id", issues):
            continue
        if e.encounter_id in encounters:
            issues.append(Issue("encounters.csv", row, "encounter_id", "duplicate encounter id"))
            continue
        encounters[e.encounter_id] = e
    if charges:
        _attach_charges(table, encounters, issues)

    practice = Practice(
        billing_provider=billing_rows[0][1],
        providers=providers,
        facilities=facilities,
        payers=payers,
        patients=patients,
        coverages=coverages,
        appointments=appointments,
        encounters=list(encounters.values()),
        patient_conflicts=conflicts,
    )
    return LoadResult(practice=practice, issues=issues)


def _attach_charges(
    table: Callable[[str, type[BaseModel]], list[tuple[int, Any]]],
    encounters: dict[str, Encounter],
    issues: list[Issue],
) -> None:
    """Each encounter's charges and primary adjudication (EOB and its lines)."""
    for row, charge in table("charges", Charge):
        encounter = encounters.get(charge.encounter_id)
        if encounter is None:
            issues.append(Issue("charges.csv", row, "encounter_id", "no loaded encounter"))
            continue
        encounter.charges.append(charge)
    for row, eob in table("primary_eob", PrimaryAdjudication):
        encounter = encounters.get(eob.encounter_id)
        if encounter is None:
            issues.append(Issue("primary_eob.csv", row, "encounter_id", "no loaded encounter"))
            continue
        encounter.primary_adjudication = eob
    for row, line in table("primary_eob_lines", PrimaryLineAdjudication):
        _attach_eob_line(encounters.get(line.encounter_id), line, row, issues)
    for encounter in encounters.values():
        encounter.charges.sort(key=lambda c: c.line_number)


def _share(model: BaseModel, pool: dict[object, Any]) -> Any:
    """``model`` rebuilt compact: its values and fields-set replaced by equal ones already
    loaded, its attributes in a key-sharing dict.

    A practice repeats codes, names, dates and amounts on every row, and every instance's
    fields-set is one of a few: one object each instead of one per cell is most of the
    memory of a large practice. All shared values are immutable (the lists in
    :data:`_READ_ONLY_LISTS` too: nothing changes them in place); the fields-set is copied
    by ``_Model.__setattr__`` before pydantic adds to it.

    Pydantic hands each instance a dict of its own (an Encounter's: 832 bytes). Setting the
    attributes one by one on a fresh instance lets CPython keep them as values against the
    class's shared keys instead (PEP 412; ~300 bytes; see ``_share_instance_keys`` in the
    model). That is a CPython detail: where it does not hold, the instance merely takes a
    dict of its own again — equal, just bigger. Nested models are rebuilt the same way."""
    fields_set = model.__pydantic_fields_set__
    share = pool.setdefault
    compact = _new(type(model))
    for name, value in model.__dict__.items():
        kind = type(value)
        if kind is str or kind is date:
            value = share(value, value)
        elif kind is Decimal:
            # Decimal("1.0") == Decimal("1.00") but prints differently: key by the text.
            value = share((kind, str(value)), value)
        elif kind is list:
            for i, item in enumerate(value):
                if type(item) is str:
                    value[i] = share(item, item)
                elif isinstance(item, BaseModel):
                    value[i] = _share(item, pool)
            if name in _READ_ONLY_LISTS:
                value = share((list, name, tuple(value)), SharedList(value))
        elif value is not None and hasattr(kind, "__pydantic_fields__"):
            value = _share(value, pool)
        _set(compact, name, value)
    _set(compact, "__pydantic_fields_set__", share(frozenset(fields_set), fields_set))
    _set(compact, "__pydantic_extra__", model.__pydantic_extra__)
    _set(compact, "__pydantic_private__", model.__pydantic_private__)
    return compact


_new = object.__new__
_set = object.__setattr__  # past pydantic's __setattr__: no validation, no fields-set change
_READ_ONLY_LISTS = frozenset(
    {"diagnoses", "modifiers", "diagnosis_pointers", "attachments", "nsa_consent_services",
     "service_types"}
)  # fmt: skip
"""List fields no code changes in place (appended to, sorted): equal ones are one
:class:`SharedList` (most are empty or one of a few codes) — assign a new list instead.
``charges`` and ``lines`` are not here: the loader appends."""


class SharedList(list[Any]):
    """A list one loaded value stands for in many models: changing it in place would change
    every model holding it, so it refuses (a loud error, not a silent edit of other claims)."""

    __slots__ = ()

    def __reduce__(self) -> tuple[type[SharedList], tuple[list[Any]]]:
        return SharedList, (list(self),)  # a copy or unpickling must not append


def _refuse(method: str) -> Callable[..., None]:
    def refuse(self: SharedList, *args: object) -> None:
        raise TypeError(f"{method}() on a list shared by equal loaded models: assign a new list")

    return refuse


for _method in ("append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse",
                "__setitem__", "__delitem__", "__iadd__", "__imul__"):  # fmt: skip
    setattr(SharedList, _method, _refuse(_method))


def _no_patients(folder: Path, maps: Path, issues: list[Issue]) -> str:
    path = folder / _read_map(maps / "patients.yaml").file
    bad = [i for i in issues if i.file == path.name]
    if not bad:
        return f"{path}: no patient rows (the file has only its header)"
    return f"{path}: none of its patient rows could be used (first: {bad[0]})"


def _patients(
    rows: list[tuple[int, Patient]], issues: list[Issue]
) -> tuple[dict[str, Patient], dict[str, list[int]]]:
    """Patients by account number; an account on rows that disagree is a conflict.

    The first row is kept (coverages and encounters still find the patient) and every
    row of the account is named, so the scrubber can hold its claims.
    """
    patients: dict[str, Patient] = {}
    first_row: dict[str, int] = {}
    conflicts: dict[str, list[int]] = {}
    for row, patient in rows:
        known = patients.get(patient.patient_id)
        if known is None:
            patients[patient.patient_id], first_row[patient.patient_id] = patient, row
        elif known != patient:
            rows_of = conflicts.setdefault(patient.patient_id, [first_row[patient.patient_id]])
            rows_of.append(row)
            issues.append(Issue(
                "patients.csv", row, "patient_id",
                f"account number also on row {rows_of[0]} with other demographics; "
                "its claims are held until the export is fixed",
            ))  # fmt: skip
    return patients, conflicts


def _attach_eob_line(
    encounter: Encounter | None, line: PrimaryLineAdjudication, row: int, issues: list[Issue]
) -> None:
    file = "primary_eob_lines.csv"
    eob = encounter.primary_adjudication if encounter is not None else None
    if eob is None:
        issues.append(Issue(file, row, "encounter_id", "no loaded primary EOB for the encounter"))
    elif any(other.line_number == line.line_number for other in eob.lines):
        issues.append(Issue(file, row, "line_number", "line adjudicated twice"))
    else:
        eob.lines.append(line)


def load_payers(folder: str | Path) -> dict[str, Payer]:
    """Every payer profile in ``mappings/payers/*.yaml``, keyed by payer id."""
    payers: dict[str, Payer] = {}
    for path in sorted(Path(folder).glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            payer = Payer.model_validate(data)
        except (OSError, yaml.YAMLError, ValidationError) as exc:
            reason = str(exc).splitlines()[0]
            raise ConfigError(f"{path}: not a valid payer profile: {reason}") from exc
        payers[payer.payer_id] = payer
    return payers


def _known(
    key: str, table: Mapping[str, object], file: str, row: int, column: str, issues: list[Issue]
) -> bool:
    if key in table:
        return True
    issues.append(Issue(file, row, column, f"unknown {column.removesuffix('_id')} {key!r}"))
    return False


# --- column maps ---------------------------------------------------------------------------


def _read_map(path: Path) -> _TableMap:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        fields = tuple(_field_spec(name, spec) for name, spec in data["columns"].items())
        return _TableMap(path, str(data["file"]), bool(data.get("optional", False)), fields)
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: not a valid column map: {exc}") from exc


def _field_spec(name: str, spec: object) -> _FieldSpec:
    if isinstance(spec, str):
        return _FieldSpec(name, (spec,))
    if not isinstance(spec, dict):
        raise ValueError(f"field {name!r}: expected a column name or a mapping")
    many = "columns" in spec
    columns = tuple(spec["columns"]) if many else (str(spec["column"]),)
    values = spec.get("values")
    return _FieldSpec(
        name=name,
        columns=columns,
        many=many,
        fmt=spec.get("format"),
        split=spec.get("split"),
        values={str(k).upper(): str(v) for k, v in values.items()} if values else None,
        strip=str(spec.get("strip", "")),
        upper=bool(spec.get("upper", True)),
        optional=bool(spec.get("optional", False)),
        default=None if spec.get("default") is None else str(spec["default"]),
        parse=spec.get("parse"),
    )


def _load_table(
    folder: Path, tmap: _TableMap, model: type[BaseModel], issues: list[Issue]
) -> Iterator[tuple[int, Any]]:
    path = folder / tmap.file
    if not path.exists():
        if tmap.optional:
            return
        raise PracticeDataError(f"{path}: missing (column map {tmap.source.name})")
    try:
        with _text(path) as fh, _field_limit():
            reader = csv.DictReader(fh)
            header = set(reader.fieldnames or ())
            missing = [
                c for f in tmap.fields if not f.optional for c in f.columns if c not in header
            ]
            if missing:
                raise PracticeDataError(f"{path}: missing column(s) {', '.join(missing)}")
            plan = _plan(tmap)
            for number, row in _rows(reader, tmap.file, issues):
                loaded = _load_row(tmap, plan, model, row, number, issues)
                if loaded is not None:
                    yield number, loaded
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise PracticeDataError(f"{path}: cannot read: {exc}") from exc


def _rows(
    reader: csv.DictReader[str], file: str, issues: list[Issue]
) -> Iterator[tuple[int, dict[str, str | None]]]:
    """The rows worth reading; a row with a byte that is not UTF-8 or an oversized cell is
    reported (the column named, never the value) and skipped."""
    # A header with a byte that is not UTF-8 makes every row suspect: no fast path then.
    names_ok = not any(_UNDECODABLE.search(name) for name in reader.fieldnames or ())
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # the reader goes on with the next line
            issues.append(Issue(file, reader.line_num, "*", f"unreadable row: {exc}"))
            continue
        problem = None if names_ok and _plainly_good(row) else _bad_cell(row)
        if problem is None:
            yield reader.line_num, row
        else:
            issues.append(Issue(file, reader.line_num, *problem))


def _plainly_good(row: Mapping[str | None, object]) -> bool:
    """One regex search and one length check over the whole row: true when no cell can be
    bad (the common case); otherwise :func:`_bad_cell` looks cell by cell to name the column."""
    if None in row:  # cells past the header
        return False
    try:
        joined = "".join(row.values())  # type: ignore[arg-type]
    except TypeError:  # a short row (missing cells are None): the careful path
        return False
    if len(joined) > MAX_CELL_CHARS and max(map(len, row.values())) > MAX_CELL_CHARS:  # type: ignore[arg-type]
        return False
    return _UNDECODABLE.search(joined) is None


def _bad_cell(row: Mapping[str | None, object]) -> tuple[str, str] | None:
    for column, value in row.items():
        name = column if column is not None else "(extra cells)"
        for text in value if isinstance(value, list) else (value,):
            if not isinstance(text, str):
                continue
            if _UNDECODABLE.search(text) or _UNDECODABLE.search(name):
                return name, NOT_UTF8
            if len(text) > MAX_CELL_CHARS:
                return name, f"value of {len(text)} characters; at most {MAX_CELL_CHARS}"
    return None


@contextmanager
def _text(path: Path) -> Iterator[io.TextIOWrapper]:
    """The file as text: UTF-16 when it says so (BOM) or looks so (NUL every other byte),
    else UTF-8 with undecodable bytes kept as escapes for :func:`_bad_cell` to report."""
    with path.open("rb") as raw:
        encoding = _encoding(raw.peek(4096)[:4096])
        with io.TextIOWrapper(raw, encoding=encoding, errors="surrogateescape", newline="") as fh:
            yield fh


def _encoding(head: bytes) -> str:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    half = len(head) // 2
    if half >= 2:
        even, odd = head[0::2].count(0), head[1::2].count(0)
        if odd >= half // 2 and even == 0:
            return "utf-16-le"
        if even >= half // 2 and odd == 0:
            return "utf-16-be"
    return "utf-8-sig"


@contextmanager
def _field_limit() -> Iterator[None]:
    # Process-wide setting: raised for the read and put back; a concurrent reader only
    # ever sees a higher limit.
    old = csv.field_size_limit()
    csv.field_size_limit(max(old, _CSV_FIELD_LIMIT))
    try:
        yield
    finally:
        csv.field_size_limit(old)


_Reader = Callable[[Mapping[str, str | None]], Any]


@dataclass(frozen=True, slots=True)
class _Step:
    """One field of a compiled map: where its value goes and how it is read from a row."""

    parents: tuple[str, ...]
    leaf: str
    read: _Reader


@dataclass(frozen=True, slots=True)
class _Plan:
    steps: tuple[_Step, ...]
    labels: Mapping[str, str]


def _plan(tmap: _TableMap) -> _Plan:
    """The map compiled once per file, so a row costs one call per cell, nothing more."""
    steps = []
    for spec in tmap.fields:
        *parents, leaf = spec.name.split(".")
        steps.append(_Step(tuple(parents), leaf, _compile(spec)))
    return _Plan(tuple(steps), {spec.name: spec.label for spec in tmap.fields})


def _load_row(
    tmap: _TableMap,
    plan: _Plan,
    model: type[BaseModel],
    row: Mapping[str, str | None],
    number: int,
    issues: list[Issue],
) -> Any:
    data: dict[str, Any] = {}
    ok = True
    for step in plan.steps:
        try:
            value = step.read(row)
        except _CellError as exc:
            issues.append(Issue(tmap.file, number, exc.column, exc.reason))
            ok = False
            continue
        if value is not None:
            target = data
            for parent in step.parents:
                target = target.setdefault(parent, {})
            target[step.leaf] = value
    if not ok:
        return None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            column = _column_for(error["loc"], plan.labels)
            reason = _reason(error)
            issues.append(Issue(tmap.file, number, column, reason))
        return None


def _compile(spec: _FieldSpec) -> _Reader:
    """A reader of ``spec``'s value from a row: cleaned, defaulted, mapped, split or parsed;
    ``None`` for an empty cell; :class:`_CellError` (naming the column) when unreadable."""
    clean = _cleaner(spec)
    if spec.many:
        columns = spec.columns

        def many(row: Mapping[str, str | None]) -> Any:
            return [v for v in (clean(row.get(c)) for c in columns) if v]

        return many
    column, label, default, values = spec.columns[0], spec.label, spec.default, spec.values
    if values is None and default is None and spec.split is None and spec.fmt is None:
        if spec.parse == "adjustments":
            return lambda row: _adjustments(label, raw) if (raw := clean(row.get(column))) else None
        return lambda row: clean(row.get(column)) or None  # most columns: plain text
    allowed = ", ".join(k for k in values if k) if values is not None else ""
    then = _parser(spec)

    def read(row: Mapping[str, str | None]) -> Any:
        raw = clean(row.get(column))
        if not raw and default is not None:
            raw = default
        if values is not None:
            mapped = values.get(raw.upper())
            if mapped is None:
                if not raw:
                    return None
                raise _CellError(label, f"unknown value (expected one of {allowed})")
            raw = mapped
        if not raw:
            return None
        return then(raw)

    return read


def _parser(spec: _FieldSpec) -> Callable[[str], Any]:
    """What a non-empty (mapped) value becomes: a list, a date, adjustments or itself."""
    label, split, fmt = spec.label, spec.split, spec.fmt
    if split is not None:
        return lambda raw: [part.strip() for part in raw.split(split) if part.strip()]
    if fmt is not None:
        return _date_parser(label, fmt)
    if spec.parse == "adjustments":
        return lambda raw: _adjustments(label, raw)
    return lambda raw: raw


# ``%m/%d/%Y`` and ``%Y-%m-%d`` read without strptime when the text is plain ASCII digits
# (a date that does not exist still fails in ``date()``); anything else goes to strptime.
_FAST_DATES: dict[str, tuple[re.Pattern[str], tuple[int, int, int]]] = {
    "%m/%d/%Y": (re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})"), (3, 1, 2)),
    "%Y-%m-%d": (re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})"), (1, 2, 3)),
}


def _date_parser(label: str, fmt: str) -> Callable[[str], Any]:
    seen: dict[str, date] = {}  # dates repeat (visit days, birth dates): read each text once
    fast = _FAST_DATES.get(fmt)

    def parse(raw: str) -> date:
        found = seen.get(raw)
        if found is not None:
            return found
        try:
            match = fast[0].fullmatch(raw) if fast is not None else None
            if match is not None and fast is not None:
                y, m, d = (int(match.group(i)) for i in fast[1])
                found = date(y, m, d)
            else:
                found = datetime.strptime(raw, fmt).date()
        except ValueError as exc:
            raise _CellError(label, f"not a date in format {fmt}") from exc
        seen[raw] = found
        return found

    return parse


def _cleaner(spec: _FieldSpec) -> Callable[[str | None], str]:
    """Trim, drop the ``strip`` characters, upper-case (unless ``upper: false``)."""
    drop = str.maketrans("", "", spec.strip) if spec.strip else None
    if drop is None:
        if spec.upper:
            return lambda raw: raw.strip().upper() if raw else ""
        return lambda raw: raw.strip() if raw else ""
    if spec.upper:
        return lambda raw: raw.strip().translate(drop).upper() if raw else ""
    return lambda raw: raw.strip().translate(drop) if raw else ""


def _adjustments(column: str, raw: str) -> list[ClaimAdjustment]:
    """``CO-45=120.00; PR-2=30.00`` -> CAS group/reason/amount triples."""
    found = []
    for part in raw.split(";"):
        part = part.strip()
        if not part:
            continue
        try:
            code, amount = part.split("=")
            group, reason = code.strip().split("-")
            found.append(
                ClaimAdjustment(group_code=group, reason_code=reason, amount=Decimal(amount))
            )
        except (ValueError, InvalidOperation) as exc:
            raise _CellError(column, "adjustments must read GROUP-REASON=AMOUNT; ...") from exc
    return found


def _column_for(loc: tuple[int | str, ...], labels: Mapping[str, str]) -> str:
    # The longest dotted prefix of the error location that a column feeds.
    parts = [str(p) for p in loc]
    for end in range(len(parts), 0, -1):
        label = labels.get(".".join(parts[:end]))
        if label is not None:
            return label
    return ".".join(parts)


def _reason(error: Mapping[str, Any]) -> str:
    # Never the value itself: these lines reach logs, and cells hold names and birth dates.
    if error["type"] == "missing":
        return "required value is empty"
    return str(error["msg"])
