"""A practice of N encounters for the scale harness (``claimflow demo --claims N``).

The demo practice (``sample_edi/practice``: 185 encounters, 36 appointments, the deliberately
bad encounters, corrections, secondary claims) is tiled: copy ``k`` of it gets every key
suffixed with ``k`` (account, policy, member id, visit, claim and payer claim numbers), so the
mix stays the demo's — about one eligibility inquiry per five claims, a seventh of the
encounters held by the scrubber — and every copy is its own set of patients and members.
The last copy is cut to make exactly N encounters (its appointments in proportion).
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

__all__ = ["write_scaled_practice"]

# Keys that name a patient, policy, member or claim: suffixed per copy. Other columns are kept.
_KEYS: dict[str, tuple[str, ...]] = {
    "patients.csv": ("Acct #",),
    "coverages.csv": ("Policy Ref", "Acct #", "Member ID", "Dependent Member ID"),
    "encounters.csv": ("Visit #", "Claim #", "Acct #", "Orig Claim #"),
    "charges.csv": ("Visit #",),
    "appointments.csv": ("Appt ID", "Acct #"),
    "primary_eob.csv": ("Visit #", "Payer Claim #"),
    "primary_eob_lines.csv": ("Visit #",),
}
_VISIT_KEYED = ("charges.csv", "primary_eob.csv", "primary_eob_lines.csv")


def write_scaled_practice(source: Path, dest: Path, claims: int) -> Path:
    """Write a practice of ``claims`` encounters into ``dest``, tiled from ``source``."""
    if claims < 1:
        raise ValueError("claims must be at least 1")
    dest.mkdir(parents=True, exist_ok=True)
    tables = {name: _read(source / name) for name in _KEYS}
    base = tables["encounters.csv"][1]
    copies = -(-claims // len(base))
    for path in source.glob("*.csv"):
        if path.name not in _KEYS:
            shutil.copyfile(path, dest / path.name)
    for name, (header, rows) in tables.items():
        out: list[dict[str, str]] = []
        for k in range(copies):
            kept = rows
            if k == copies - 1:
                kept = _last_copy(name, rows, base, claims - k * len(base))
            out.extend(_suffixed(row, _KEYS[name], k) for row in kept)
        _write(dest / name, header, out)
    return dest


def _last_copy(
    name: str, rows: list[dict[str, str]], base: list[dict[str, str]], wanted: int
) -> list[dict[str, str]]:
    if name == "encounters.csv":
        return rows[:wanted]
    if name in _VISIT_KEYED:
        visits = {e["Visit #"] for e in base[:wanted]}
        return [r for r in rows if r["Visit #"] in visits]
    if name == "appointments.csv":
        return rows[: round(len(rows) * wanted / len(base))]
    return rows


def _suffixed(row: dict[str, str], keys: tuple[str, ...], k: int) -> dict[str, str]:
    if k == 0:  # the first copy is the demo practice itself
        return row
    out = dict(row)
    for key in keys:
        if out.get(key):
            out[key] = f"{out[key]}{k:04d}"
    return out


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def _write(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
