"""What a 271 decides claims on: network coverage, copays by service type, prior auth (EB11,
EB13, III, MSG, LS/LE 2120C), plan/eligibility dates -- from hand-made 271s and the corpus."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pandas as pd
import pytest

from pipeline.parse import parse_file
from pipeline.parse.coverage import (
    AuthRequirement,
    CoverageFacts,
    format_authorizations,
    parse_authorizations,
)

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "271"

HEAD = (
    "ISA*00*          *00*          *ZZ*PAYER          *ZZ*PRACTICE       *261127*0200*^*00501*"
    "000000001*0*P*:~GS*HB*PAYER*PRACTICE*20261127*0200*1*X*005010X279A1~"
    "ST*271*0001*005010X279A1~BHT*0022*11*REF1*20261127*0200~HL*1**20*1~"
    "NM1*PR*2*TAILSPIN EPO*****PI*TSP05~HL*2*1*21*1~"
    "NM1*1P*2*LAKESIDE SPINE*****XX*1749263855~"
)


def _271(*members: str) -> str:
    body = "".join(members)
    count = 6 + body.count("~") + 1  # ST..NM1 (6) + members + SE
    return f"{HEAD}{body}SE*{count}*0001~GE*1*1~IEA*1*000000001~"


EPO = (
    "HL*3*2*22*0~TRN*2*T-1*1463871520~NM1*IL*1*DOE*JANE****MI*TSP1~DMG*D8*19800101~"
    "DTP*346*RD8*20260101-20261231~DTP*357*D8*20261130~"
    "EB*1*IND*30^98^86*EP*TAILSPIN EPO BASIC~"
    "EB*B*IND*98***27*45*****Y~EB*B*IND*86***27*150*****Y~"
    "EB*B*IND*98^PT***27*20*****W~"
    "EB*C*IND*30***23*2000*****Y~EB*C*IND*30***29*800*****Y~EB*A*IND*30*****.25****Y~"
    "EB*I*IND*30*********N~MSG*OUT OF NETWORK BENEFITS FOR EMERGENCY SERVICES ONLY~"
    "EB*1*IND*86*********N~"
    "EB*1*IND*30********Y*W*HC:72148~MSG*PRIOR AUTHORIZATION REQUIRED FOR 72148~"
    "III*ZZ*22~III*ZZ*24~"
    "LS*2120~NM1*X3*2*TAILSPIN CARE MANAGEMENT*****PI*TSPUM5~PER*IC**TE*8005550105~LE*2120~"
    "EB*1*IND*PT********Y*Y~MSG*PRIOR AUTHORIZATION REQUIRED FOR PHYSICAL THERAPY~"
)


def _tables(tmp_path: Path, text: str) -> dict[str, pd.DataFrame]:
    path = tmp_path / "answer.271"
    path.write_text(text, encoding="ascii")
    result = parse_file(path)
    assert result.transaction == "271"
    return result.tables


def test_epo_answer_carries_every_decision_fact(tmp_path: Path) -> None:
    tables = _tables(tmp_path, _271(EPO))
    (s,) = tables["eligibility_summary"].to_dict("records")
    assert s["coverage_status"] == "active"
    # EB*I N for the whole plan: no out-of-network benefit, except emergencies (EB*1 86 N)
    assert (s["in_network_coverage"], s["out_of_network_coverage"]) == ("covered", "not_covered")
    assert s["out_of_network_service_types"] == "86"
    # copays by service type: exact Y (45) beats W (20) for 98; PT only in the W row
    assert s["in_network_copays"] == "86=150 98=45 PT=20"
    assert s["out_of_network_copays"] == "98=20 PT=20"
    assert s["prior_auth_services"] == "HC:72148 POS:22,24; STC:PT NET:Y"
    assert s["prior_auth_contact"] == "X3: TAILSPIN CARE MANAGEMENT (PI TSPUM5) TE 8005550105"
    assert (s["plan_begin"], s["plan_end"], s["eligibility_end"]) == (
        "2026-01-01",
        "2026-12-31",
        "2026-11-30",
    )
    benefits = tables["eligibility_benefits"]
    auth = benefits[benefits["procedure_code"] == "72148"].iloc[0]
    assert auth["places_of_service"] == "22,24"
    assert auth["messages"] == "PRIOR AUTHORIZATION REQUIRED FOR 72148"
    assert auth["related_entities"].startswith("X3: TAILSPIN CARE MANAGEMENT")
    # the 2120C NM1 is not the member's name
    assert set(benefits["last_name"]) == {"DOE"}


def test_facts_read_back_from_the_summary_decide_per_service(tmp_path: Path) -> None:
    (row,) = _tables(tmp_path, _271(EPO))["eligibility_summary"].to_dict("records")
    facts = CoverageFacts.from_summary(row, service_date=date(2026, 11, 12))
    assert facts.coverage(in_network=False) == "not_covered"
    assert facts.copay_for(frozenset({"30", "98"}), in_network=True) == D("45")
    assert facts.copay_for(frozenset({"30", "2"}), in_network=True) is None
    mri = frozenset({"30", "4", "62"})
    found = facts.authorization_for("72148", mri, "22", in_network=False)
    assert found is not None and found.describe() == "72148 at POS 22, 24"
    assert facts.authorization_for("72148", mri, "11", in_network=False) is None  # III: 22/24
    pt = frozenset({"30", "PT", "AE"})
    assert facts.authorization_for("97110", pt, "11", in_network=True) is not None
    assert facts.authorization_for("97110", pt, "11", in_network=False) is None  # EB12 Y only
    assert facts.dated_out(date(2026, 12, 1)) and not facts.dated_out(date(2026, 11, 30))
    assert facts.same_plan_period(date(2026, 3, 1)) and not facts.same_plan_period(date(2027, 1, 1))


def test_facts_read_with_a_shared_memo_are_the_same_facts_kept_once(tmp_path: Path) -> None:
    (row,) = _tables(tmp_path, _271(EPO))["eligibility_summary"].to_dict("records")
    other = row | {"trace_number": "T-2", "plan_end": None, "in_network_copays": "98=40"}
    shared: dict[tuple[str, str], object] = {}
    alone = [CoverageFacts.from_summary(r, service_date=date(2026, 11, 12)) for r in (row, other)]
    kept = [
        CoverageFacts.from_summary(r, shared=shared, service_date=date(2026, 11, 12))
        for r in (row, other, row)
    ]
    assert kept == [*alone, alone[0]]
    assert kept[1].plan_end is None and kept[1].in_network_copays == {"98": D("40")}
    a, b, c = kept
    assert a.authorizations is b.authorizations is c.authorizations  # one tuple for all three
    assert a.out_of_network_copays is b.out_of_network_copays
    assert a.in_network_copays is c.in_network_copays is not b.in_network_copays
    assert a.plan_begin is b.plan_begin and a.eligibility_end is b.eligibility_end


def test_member_aaa_and_inactive_answers(tmp_path: Path) -> None:
    unknown = "HL*3*2*22*0~TRN*2*T-2*1463871520~NM1*IL*1*ROE*RICH****MI*X9~AAA*N**75*C~"
    inactive = (
        "HL*4*2*22*0~TRN*2*T-3*1463871520~NM1*IL*1*POE*ANN****MI*X8~DTP*357*D8*20261031~"
        "EB*6*IND*30~"
    )
    rows = {r["trace_number"]: r for r in _tables(tmp_path, _271(unknown, inactive))[
        "eligibility_summary"
    ].to_dict("records")}  # fmt: skip
    assert rows["T-2"]["coverage_status"] == "rejected"
    assert rows["T-2"]["reject_reason_code"] == "75"
    assert rows["T-2"]["in_network_coverage"] == "" and rows["T-2"]["prior_auth_services"] == ""
    assert rows["T-3"]["coverage_status"] == "inactive"
    assert rows["T-3"]["eligibility_end"] == "2026-10-31"


def test_auth_requirement_text_round_trips() -> None:
    given = (
        AuthRequirement("29881"),
        AuthRequirement("", frozenset({"62", "4"}), frozenset({"22"}), "N"),
        AuthRequirement("", frozenset({"30"}), frozenset(), "W"),
    )
    text = format_authorizations(given)
    assert text == "HC:29881; STC:4,62 POS:22 NET:N; STC:30"
    back = parse_authorizations(text)
    assert back[:2] == given[:2]
    assert back[2] == AuthRequirement("", frozenset({"30"}))  # W: both networks, not kept
    assert parse_authorizations("") == () and parse_authorizations("XX:1; ;") == ()


@pytest.mark.parametrize(
    "name",
    [
        "lfh__subscriber-health-benefit-check.271",
        "stupidedi__response-to-generic-request-by-physician-for-patient-(dependent)-eligibility.edi",
    ],
)
def test_corpus_copays_by_network_and_the_2120c_primary_care_provider(name: str) -> None:
    path = CORPUS / name
    if not path.exists():
        pytest.skip("the shared corpus is not present")
    result = parse_file(path)
    (s,) = result.tables["eligibility_summary"].to_dict("records")
    # EB*B**1^33^...^UC*HM*GOLD 123 PLAN*27*10.00*****Y (and 30.00 ... N), read from the raw
    # text: one copay per service type and network
    raw = path.read_text(encoding="utf-8-sig")
    stcs = sorted(["1", "33", "35", "47", "86", "88", "98", "AL", "MH", "UC"])
    for network, column in (("Y", "in_network_copays"), ("N", "out_of_network_copays")):
        (amount,) = re.findall(
            rf"EB\*B\*\*[^*]+\*HM\*GOLD 123 PLAN\*27\*([0-9.]+)\*{{5}}{network}", raw
        )
        assert s[column] == " ".join(f"{t}={amount}" for t in stcs)
    assert s["in_network_coverage"] == s["out_of_network_coverage"] == "covered"
    entities = [e for e in result.tables["eligibility_benefits"]["related_entities"] if e]
    assert entities == ["P3: JONES MARCUS (SV 0202034)"]
    assert s["prior_auth_services"] == ""  # no EB11 Y anywhere in it
