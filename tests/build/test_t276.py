"""276 claim status requests: golden sample, segments, refusals, round trip through read_276.

The sample ``sample_edi/outbound/claim_status.276`` is what :func:`build_276` writes for
:data:`REQUESTS`; after an intended change regenerate it with
``.venv/bin/python -m tests.build.test_t276`` and review the diff.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import replace
from decimal import Decimal as D
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.build.t276 import Build276Result, build_276, status_request
from pipeline.parse.t276 import read_276
from pipeline.practice.records import ClaimLine, ClaimRecord, Person, StatusRequestRecord
from pipeline.x12.reader import read_segments
from pipeline.x12.validate import validate_file
from tests.parse.x12build import Counter

SAMPLE = Path(__file__).resolve().parents[2] / "sample_edi" / "outbound" / "claim_status.276"
NOW = dt.datetime(2026, 12, 30, 9, 15)
SUBMITTER = ("RIVERBEND FAMILY CLINIC", "RBFC0001")
JANE = Person("DOE", "JANE", "Q", dt.date(1980, 2, 14), "F")
RICHARD = Person("ROE", "RICHARD")
SAMUEL = Person("ROE", "SAMUEL", "", dt.date(2012, 7, 4), "M")


def _request(pcn: str, payer: str, charge: str, **kw: object) -> StatusRequestRecord:
    base = StatusRequestRecord(
        trace_number="", payer_id=payer, payer_name=f"PAYER {payer}", provider_npi="1234567893",
        provider_name="RIVERBEND FAMILY CLINIC", member_id="W123456789", subscriber=JANE,
        patient_control_number=pcn, charge_amount=D(charge),
        service_date_start=dt.date(2026, 11, 3), service_date_end=dt.date(2026, 11, 3),
    )  # fmt: skip
    return replace(base, **kw)  # type: ignore[arg-type]


REQUESTS = [
    _request("PCN1001", "NWH01", "250.5", payer_claim_control_number="NWH26000001",
             service_date_end=dt.date(2026, 11, 5)),
    _request("PCN1002", "CTS02", "120"),
    _request("PCN1008", "NWH01", "60", subscriber=RICHARD, member_id="W987654321",
             patient=SAMUEL),
]  # fmt: skip


def _build(requests: list[StatusRequestRecord]) -> tuple[str, Build276Result]:
    out = io.StringIO()
    result = build_276(requests, out, submitter=SUBMITTER, receiver_id="CLAIMFLOWCH",
                       control_numbers=Counter(300), now=NOW)  # fmt: skip
    return out.getvalue(), result


def test_sample_is_what_the_builder_writes() -> None:
    text, _ = _build(REQUESTS)
    assert SAMPLE.read_text(encoding="ascii") == text


def test_sample_passes_our_x212_map_and_envelope_checks() -> None:
    report = validate_file(SAMPLE, jobs=1)
    assert report.status == "valid", [p.message for p in report.problems]


def test_one_set_per_payer_and_each_claim_traced_once() -> None:
    text, result = _build(REQUESTS)
    segments = [s.elements for s in read_segments(text.encode())]
    sets = [s for s in segments if s[0] == "ST"]
    assert [s[1] for s in sets] == ["276", "276"] and all(s[3] == "005010X212" for s in sets)
    gs = next(s for s in segments if s[0] == "GS")
    assert (gs[1], gs[8]) == ("HR", "005010X212")
    traces = [s[2] for s in segments if s[0] == "TRN"]
    assert len(traces) == len(set(traces)) == 3 and set(traces) == set(result.traces)
    assert {s[2] for s in segments if s[:2] == ["REF", "EJ"]} == {"PCN1001", "PCN1002", "PCN1008"}
    assert [s[2] for s in segments if s[:2] == ["REF", "1K"]] == ["NWH26000001"]
    assert sorted(s[2] for s in segments if s[0] == "AMT") == ["120", "250.5", "60"]
    assert ["DTP", "472", "RD8", "20261103-20261105"] in segments
    # The dependent: 2000D without DMG, 2000E with the patient's DMG and NM1*QC.
    hl = [s[1:] for s in segments if s[0] == "HL"]
    top = [["1", "", "20", "1"], ["2", "1", "21", "1"], ["3", "2", "19", "1"]]
    assert hl == [
        *top, ["4", "3", "22", "0"],  # CTS02: PCN1002
        *top, ["4", "3", "22", "0"], ["5", "3", "22", "1"], ["6", "5", "23"],  # NWH01
    ]  # fmt: skip
    assert ["DMG", "D8", "20120704", "M"] in segments and [
        "NM1",
        "QC",
        "1",
        "ROE",
        "SAMUEL",
    ] in segments
    assert ["DMG", "D8", "19800214", "F"] in segments  # the subscriber who is the patient


def test_read_back_gives_the_same_requests() -> None:
    text, result = _build(REQUESTS)
    assert read_276(text.encode()) == result.requests
    assert sorted(r.patient_control_number for r in result.requests) == ["PCN1001", "PCN1002",
                                                                         "PCN1008"]  # fmt: skip


def test_a_refused_value_skips_that_claim_only() -> None:
    bad_name = _request("PCN2001", "NWH01", "10", subscriber=Person("O*BRIEN", "PAT"))
    no_dob = _request("PCN2002", "NWH01", "10", subscriber=RICHARD, patient=Person("ROE", "AMY"))
    text, result = _build([bad_name, no_dob, REQUESTS[1]])
    assert [pcn for pcn, _ in result.skipped] == ["PCN2001", "PCN2002"]
    assert "NM103" in result.skipped[0][1] and "DMG02" in result.skipped[1][1]
    assert [r.patient_control_number for r in result.requests] == ["PCN1002"]
    assert "O*BRIEN" not in text and text.count("ST*276*") == 1


def test_nothing_to_ask_writes_nothing() -> None:
    text, result = _build([])
    assert text == "" and result.requests == [] and result.interchange_control_number == ""


def test_status_request_comes_from_the_claim_as_sent() -> None:
    line = ClaimLine(1, "PCN9-1", "99213", (), D("120"), D("1"), dt.date(2026, 11, 3), (1,))
    later = replace(line, line_number=2, line_control_number="PCN9-2",
                    service_date=dt.date(2026, 11, 4))  # fmt: skip
    subscriber = Person("ROE", "RICHARD", "", dt.date(1979, 1, 1), "M", "1 MAIN ST")
    claim = ClaimRecord(
        "PCN9", D("240"), "11", "1", "NWH01", "NORTHWIND", "P", "CI", "W987654321", subscriber,
        "19", SAMUEL, billing_npi="1234567893", billing_name="RIVERBEND", lines=(line, later),
    )  # fmt: skip
    request = status_request(claim, payer_claim_control_number="ICN9")
    assert request.subscriber == Person("ROE", "RICHARD")  # no DOB/address for a non-patient
    assert request.patient == SAMUEL and request.payer_claim_control_number == "ICN9"
    assert (request.service_date_start, request.service_date_end) == (
        dt.date(2026, 11, 3), dt.date(2026, 11, 4),
    )  # fmt: skip
    self_claim = replace(claim, relationship="18", patient=subscriber)
    assert status_request(self_claim).patient is None
    assert status_request(self_claim).subscriber.dob == dt.date(1979, 1, 1)


_NAME = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ '-", min_size=1, max_size=20).map(str.strip)


@settings(max_examples=60, deadline=None)
@given(
    last=_NAME.filter(bool), first=_NAME, cents=st.integers(1, 99_999_99),
    start=st.dates(dt.date(2020, 1, 1), dt.date(2030, 12, 31)), days=st.integers(0, 30),
    dependent=st.booleans(), icn=st.text(alphabet="ABC0123456789", max_size=12),
)  # fmt: skip
def test_any_request_survives_the_round_trip(
    last: str, first: str, cents: int, start: dt.date, days: int, dependent: bool, icn: str
) -> None:
    person = Person(last, first, "", dt.date(1990, 5, 6), "F")
    who = {"subscriber": Person(last, first), "patient": person} if dependent else {}
    request = _request(
        "PCN" + str(cents), "NWH01", str(D(cents) / 100), subscriber=person,
        service_date_start=start, service_date_end=start + dt.timedelta(days=days),
        payer_claim_control_number=icn,
    )  # fmt: skip
    request = replace(request, **who)  # type: ignore[arg-type]
    text, result = _build([request])
    assert read_276(text.encode()) == result.requests
    assert result.requests[0].charge_amount == D(cents) / 100


if __name__ == "__main__":
    SAMPLE.parent.mkdir(parents=True, exist_ok=True)
    SAMPLE.write_text(_build(REQUESTS)[0], encoding="ascii")
    print(f"wrote {SAMPLE}")
