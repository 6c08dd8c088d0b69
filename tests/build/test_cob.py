"""Coordination of benefits on the 837P: 2320/2330A/2330B, OI03/OI06, REF*F8 and 2430.

The secondary claims are checked the way an auditor would: from the raw practice export
(``primary_eob.csv``, ``primary_eob_lines.csv``, ``charges.csv``) against the segments of the
built file, not against the builder's own records.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from pipeline.build.codes import CodeSets
from pipeline.build.scrub import scrub
from pipeline.build.t837p import Build837Result, build_837p
from pipeline.parse.t837p import read_837p
from pipeline.practice import ClaimAdjustment, Encounter, LoadResult, Practice
from pipeline.x12.reader import read_segments
from pipeline.x12.validate import validate_file
from tests.build.conftest import DEMO, NOW, TODAY, CountingControlNumbers

SECONDARY = ("E0147", "E0148", "E0149", "E0150")


def _rows(name: str) -> list[dict[str, str]]:
    with (DEMO / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _money(text: str) -> Decimal:
    return Decimal(text.replace("$", "").replace(",", ""))


def _adjusted(text: str) -> Decimal:
    """Total of ``CO-45=1.00; PR-1=2.00`` (read here, not by the loader under test)."""
    return sum((_money(part.split("=")[1]) for part in text.split(";") if part.strip()),
               Decimal(0))  # fmt: skip


@dataclass
class _Loops:
    """One claim's COB segments, by loop, as the file has them."""

    clm02: Decimal = Decimal(0)
    other: list[list[str]] = field(default_factory=list)  # 2320-2330B segments
    lines: list[list[list[str]]] = field(default_factory=list)  # per LX: 2430 segments
    charges: list[Decimal] = field(default_factory=list)  # SV102


def _cob_loops(path: Path) -> dict[str, _Loops]:
    claims: dict[str, _Loops] = {}
    current: _Loops | None = None
    where = ""
    for seg in read_segments(path):
        elements = seg.elements
        if seg.id in {"HL", "SE"}:
            current, where = None, ""
        elif seg.id == "CLM":
            current = claims[seg[1]] = _Loops(clm02=Decimal(seg[2]))
            where = "2300"
        elif current is None:
            continue
        elif seg.id == "SBR":
            where = "2320"
        elif seg.id == "LX":
            current.lines.append([])
            where = "2400"
        elif seg.id == "SV1":
            current.charges.append(Decimal(seg[2]))
        elif seg.id == "SVD":
            where = "2430"
        if where == "2320":
            current.other.append(elements)  # type: ignore[union-attr]
        elif where == "2430":
            current.lines[-1].append(elements)  # type: ignore[union-attr]
    return claims


def _cas_total(segments: list[list[str]]) -> Decimal:
    return sum(
        (Decimal(s[i]) for s in segments if s[0] == "CAS" for i in range(3, len(s), 3) if s[i]),
        Decimal(0),
    )


@pytest.fixture(scope="module")
def built(demo: LoadResult, codes: CodeSets, tmp_path_factory: pytest.TempPathFactory):
    out = io.StringIO()
    result = build_837p(
        demo.practice, out, control_numbers=CountingControlNumbers(), today=TODAY, codes=codes,
        now=NOW, encounters=[e for e in demo.practice.encounters if e.encounter_id in SECONDARY],
    )  # fmt: skip
    path = tmp_path_factory.mktemp("cob") / "secondary.837p"
    path.write_text(out.getvalue(), encoding="ascii")
    return result, path


def test_secondary_claims_carry_the_primary_eob_to_the_cent(
    built: tuple[Build837Result, Path],
) -> None:
    result, path = built
    assert result.held == set() and len(result.claims) == 4
    eobs = {r["Visit #"]: r for r in _rows("primary_eob.csv")}
    eob_lines: dict[str, dict[int, dict[str, str]]] = defaultdict(dict)
    for r in _rows("primary_eob_lines.csv"):
        eob_lines[r["Visit #"]][int(r["Line"])] = r
    pcn = {r["Visit #"]: r["Claim #"] for r in _rows("encounters.csv")}
    loops = _cob_loops(path)
    by_line = 0
    for visit in SECONDARY:
        claim, eob = loops[pcn[visit]], eobs[visit]
        other = claim.other
        assert other[0][:2] == ["SBR", "P"]
        (amt,) = [s for s in other if s[0] == "AMT"]
        assert amt[1] == "D" and Decimal(amt[2]) == _money(eob["Paid"])
        payer = next(s for s in other if s[:2] == ["NM1", "PR"])
        assert payer[9] == eob["Primary Payer ID"]
        assert ["REF", "F8", eob["Payer Claim #"]] in other
        paid_date = datetime.strptime(eob["Paid Date"], "%m/%d/%Y").strftime("%Y%m%d")
        claim_level_date = ["DTP", "573", "D8", paid_date] in other
        lines = eob_lines.get(visit, {})
        # Claim balance: CLM02 - 2320 CAS - every 2430 CAS = AMT*D.
        line_cas = sum((_cas_total(segs) for segs in claim.lines), Decimal(0))
        assert claim.clm02 - _cas_total(other) - line_cas == Decimal(amt[2])
        assert _cas_total(other) == _adjusted(eob["Adjustments"])
        if not lines:  # adjudicated by claim: the date in 2330B, no 2430
            assert claim_level_date and all(segs == [] for segs in claim.lines)
            continue
        by_line += 1
        assert not claim_level_date  # the dates are per line
        pairs = zip(claim.charges, claim.lines, strict=True)
        for number, (charge, segs) in enumerate(pairs, start=1):
            raw = lines[number]
            svd = segs[0]
            assert svd[0] == "SVD" and svd[1] == payer[9]  # SVD01 = 2330B NM109
            assert Decimal(svd[2]) == _money(raw["Paid"])
            assert Decimal(svd[5]) == Decimal(raw["Paid Units"])
            assert _cas_total(segs) == _adjusted(raw["Adjustments"])
            assert charge - _cas_total(segs) == Decimal(svd[2])  # line balance
            assert ["DTP", "573", "D8", paid_date] in segs
    assert by_line == 3


def test_secondary_claims_validate_and_round_trip(built: tuple[Build837Result, Path]) -> None:
    result, path = built
    report = validate_file(path)
    assert report.status == "valid", [p.message for p in report.errors][:5]
    back = read_837p(path)
    assert back == result.claims
    assert sum(1 for c in back for ln in c.lines if ln.adjudications) == 11


def _primary_for_secondary_patient(practice: Practice) -> Encounter:
    """A new primary-payer encounter for a patient who also has secondary coverage."""
    secondary = next(e for e in practice.encounters if e.encounter_id == "E0147")
    encounter = secondary.model_copy(
        deep=True,
        update={"encounter_id": "NEWP", "patient_control_number": "LSNEWP",
                "coverage_priority": "P", "primary_adjudication": None,
                "service_date": date(2026, 11, 20)},
    )  # fmt: skip
    for charge in encounter.charges:
        charge.encounter_id, charge.service_date = "NEWP", None
    practice.encounters.append(encounter)
    return encounter


def _build(practice: Practice, codes: CodeSets, encounters: list[Encounter]):
    out = io.StringIO()
    result = build_837p(
        practice, out, control_numbers=CountingControlNumbers(), today=TODAY, codes=codes,
        now=NOW, encounters=encounters,
    )  # fmt: skip
    return result, out.getvalue()


def test_primary_claim_names_the_secondary_payer(
    demo: LoadResult, codes: CodeSets, tmp_path: Path
) -> None:
    practice = demo.practice.model_copy(deep=True)
    encounter = _primary_for_secondary_patient(practice)
    patient = practice.patients[encounter.patient_id]
    patient.aob, patient.release_of_information = "refused", "I"
    secondary = practice.coverage_for(encounter.patient_id, "S")
    assert secondary is not None
    result, text = _build(practice, codes, [encounter])
    assert result.held == set(), result.report.errors()
    (claim,) = result.claims
    (other,) = claim.other_payers
    assert (other.payer_id, other.responsibility) == (secondary.payer_id, "S")
    assert other.paid_amount is None and other.adjudication_date is None
    cob = text[text.index("SBR*S*") : text.index("LX*1")]  # 2320 to the first line
    segments = [s.split("*") for s in cob.replace("\n", "").split("~") if s]
    assert [s[0] for s in segments] == ["SBR", "OI", "NM1", "NM1"]  # no CAS, AMT*D, DTP*573
    assert segments[1] == ["OI", "", "", "W", "", "", "I"]  # OI03 refused, OI06 informed
    assert segments[2][:2] == ["NM1", "IL"] and segments[2][-1] == secondary.member_id
    assert segments[3][:2] == ["NM1", "PR"] and segments[3][-1] == secondary.payer_id
    assert "SVD*" not in text
    path = tmp_path / "primary.837p"
    path.write_text(text, encoding="ascii")
    report = validate_file(path)
    assert report.status == "valid", [p.message for p in report.errors][:5]
    assert read_837p(path) == result.claims


def test_other_payer_outside_its_dates_is_not_named(demo: LoadResult, codes: CodeSets) -> None:
    practice = demo.practice.model_copy(deep=True)
    encounter = _primary_for_secondary_patient(practice)
    secondary = practice.coverage_for(encounter.patient_id, "S")
    assert secondary is not None
    secondary.effective_to = date(2026, 11, 19)  # ended the day before the visit
    result, text = _build(practice, codes, [encounter])
    assert result.claims[0].other_payers == () and "SBR*S*" not in text


def test_oi_follows_the_patient_record_on_a_secondary_claim(
    demo: LoadResult, codes: CodeSets
) -> None:
    practice = demo.practice.model_copy(deep=True)
    encounter = next(e for e in practice.encounters if e.encounter_id == "E0150")
    _, signed = _build(practice, codes, [encounter])
    assert "\nOI***Y***Y~" in signed
    practice.patients[encounter.patient_id].release_of_information = "I"
    _, informed = _build(practice, codes, [encounter])
    assert "\nOI***Y***I~" in informed


def _eob_rules(practice: Practice, encounter: Encounter, codes: CodeSets) -> set[str]:
    report = scrub(practice, [encounter], today=TODAY, codes=codes)
    return {f.rule for f in report.errors()}


def test_unbalanced_or_mismatched_eob_holds_the_claim(demo: LoadResult, codes: CodeSets) -> None:
    practice = demo.practice.model_copy(deep=True)
    encounter = next(e for e in practice.encounters if e.encounter_id == "E0148")
    eob = encounter.primary_adjudication
    assert eob is not None and len(eob.lines) == 4
    assert _eob_rules(practice, encounter, codes) == set()
    eob.lines[1].paid_amount += Decimal("0.01")  # a cent off on one line
    assert _eob_rules(practice, encounter, codes) == {"cob_balance"}
    eob.lines[1].paid_amount -= Decimal("0.01")
    eob.adjustments = [ClaimAdjustment(group_code="OA", reason_code="23", amount=Decimal("1"))]
    assert _eob_rules(practice, encounter, codes) == {"cob_balance"}
    eob.adjustments = []
    dropped = eob.lines.pop()
    assert _eob_rules(practice, encounter, codes) == {"cob_lines", "cob_balance"}
    eob.lines.append(dropped.model_copy(update={"line_number": 9}))  # totals still balance
    assert _eob_rules(practice, encounter, codes) == {"cob_lines"}
    eob.lines[-1].line_number = dropped.line_number
    eob.payer_id = "CTS02"
    assert _eob_rules(practice, encounter, codes) == {"cob_payer"}


def test_tertiary_claims_are_held(demo: LoadResult, codes: CodeSets) -> None:
    practice = demo.practice.model_copy(deep=True)
    encounter = next(e for e in practice.encounters if e.encounter_id == "E0150")
    secondary = practice.coverage_for(encounter.patient_id, "S")
    assert secondary is not None
    practice.coverages.append(secondary.model_copy(update={"coverage_id": "T1", "priority": "T"}))
    encounter.coverage_priority = "T"
    assert "cob_missing" in _eob_rules(practice, encounter, codes)
