"""``claimflow nsa ...`` / ``claimflow appeal ...`` record events in the ledger and refuse
dates the regulation does not allow — one line on stderr, exit 2, no traceback."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.ledger import ClaimState, Ledger
from pipeline.ledger.cases import NewCaseEvent
from pipeline.settings import get_settings
from tests.ledger.conftest import draft


@pytest.fixture
def ledger_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    monkeypatch.setenv("CLAIMFLOW_DATABASE_URL", url)
    monkeypatch.setenv("CLAIMFLOW_HOME", str(tmp_path))
    get_settings.cache_clear()
    with Ledger(url) as ledger:
        claim = ledger.record_claim(draft("LS21", state=ClaimState.READY))
        ledger.record_case_event(
            NewCaseEvent(
                "LS21",
                "LS21",
                "remittance",
                "payment_received",
                dt.date(2026, 12, 11),
                reference="835:1",
            )
        )
        assert claim.id
    yield url
    get_settings.cache_clear()


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_notice_then_idr_in_its_window(ledger_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(
        [
            "nsa",
            "notice-sent",
            "LS21",
            "--date",
            "2027-01-11",
            "--method",
            "email",
            "--offer",
            "552.00",
        ],
        capsys,
    )
    assert code == 0
    assert "negotiating" in out and "2027-02-23" in out and "2027-02-24 to 2027-03-01" in out
    # Premature: the negotiation runs until 2027-02-23.
    code, _, err = _run(["nsa", "idr-initiated", "LS21", "--date", "2027-02-23"], capsys)
    assert code == 2 and err.strip().startswith("claimflow: error:")
    assert "only 2027-02-24 to 2027-03-01" in err and "Traceback" not in err
    code, out, _ = _run(
        ["nsa", "idr-initiated", "LS21", "--date", "2027-02-24", "--reference", "DISP-9"], capsys
    )
    assert code == 0 and "idr_initiated" in out and "2027-03-01" in out  # selection deadline
    with Ledger(ledger_url) as ledger:
        events = ledger.case_events(case_id="LS21-nsa")
    assert [(e.event, e.on, e.method) for e in events] == [
        ("notice_sent", dt.date(2027, 1, 11), "email"),
        ("idr_initiated", dt.date(2027, 2, 24), None),
    ]


def test_bad_input_is_one_line(ledger_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(
        ["nsa", "notice-sent", "NOPE", "--date", "2027-01-11", "--method", "mail"], capsys
    )
    assert code == 2 and "claim NOPE: not in the ledger" in err
    code, _, err = _run(
        ["nsa", "notice-sent", "LS21", "--date", "2026-12-01", "--method", "mail"], capsys
    )
    assert code == 2 and "before the payment received 2026-12-11" in err
    code, _, err = _run(
        ["appeal", "status", "LS21-prior_auth", "won", "--date", "2027-01-05"], capsys
    )
    assert code == 2 and "(new case) -> won is not allowed" in err


def test_appeal_status_transitions(ledger_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    for args in (
        ["drafted", "--date", "2027-01-04"],
        ["sent", "--date", "2027-01-05", "--method", "fax", "--reference", "AC2001"],
        ["won", "--date", "2027-02-10", "--amount", "233.20"],
    ):
        assert _run(["appeal", "status", "LS21-medical_necessity", *args], capsys)[0] == 0
    with Ledger(ledger_url) as ledger:
        events = ledger.case_events(case_id="LS21-medical_necessity")
    assert [e.event for e in events] == ["drafted", "sent", "won"]
    assert str(events[-1].amount) == "233.20" and events[1].reference == "AC2001"


def test_clock_needs_no_ledger(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(
        ["nsa", "clock", "--received", "2026-11-19", "--sent", "2026-11-23"], capsys
    )
    assert code == 0
    assert "2027-01-04" in out and "2027-01-06" in out and "2027-01-07 to 2027-01-12" in out
