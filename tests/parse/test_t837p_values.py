"""The 837P reader shares equal amounts and dates (a night's claims repeat a few hundred) and
keeps each text's own form: ``399`` and ``399.00`` stay two values."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from pipeline.parse.t837p import read_837p

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "build" / "demo.837p.x12"


def test_equal_texts_are_one_object_and_keep_their_form() -> None:
    text = GOLDEN.read_text(encoding="ascii")
    claims = read_837p(text.encode())
    lines = [ln for c in claims for ln in c.lines]
    by_text: dict[str, set[int]] = {}
    for ln in lines:
        by_text.setdefault(str(ln.charge), set()).add(id(ln.charge))
        by_text.setdefault(f"date {ln.service_date}", set()).add(id(ln.service_date))
    assert len(lines) > len(by_text)  # the demo repeats values: something is shared
    assert all(len(ids) == 1 for ids in by_text.values())

    # The first SV1 charge written with cents: its line reads 399.00, the others 399.
    first = lines[0]
    sv1 = f"SV1*HC:{first.procedure_code}"
    at = text.index(sv1)
    charge = str(first.charge)
    cents = text[:at] + text[at:].replace(f"*{charge}*", f"*{charge}.00*", 1)
    again = [ln for c in read_837p(cents.encode()) for ln in c.lines]
    assert str(again[0].charge) == f"{charge}.00"
    same = [b for a, b in zip(lines[1:], again[1:], strict=True) if a.charge == first.charge]
    assert same and all(str(b.charge) == charge for b in same)
    assert again[0].charge == Decimal(charge)
