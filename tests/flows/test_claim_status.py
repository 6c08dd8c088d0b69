"""The 276/277 cycle against the embedded clearinghouse over SFTP: claims whose 835 never came.

Night 1 (2026-11-27) sends the demo practice's claims; the simulator holds every 835 back
(the ``late`` fault). Forty days later no remittance was posted: the claim-status step asks
about every accepted claim past its payer's response window, the simulator answers from what
its payers decided, and the ledger, the flags and a rerun are checked against the simulator's
ground truth (written by its adjudication, not by the 277 path).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from pipeline import steps
from pipeline.build.codes import CodeSets
from pipeline.clearinghouse import Faults, read_ground_truth
from pipeline.ledger import ClaimState, Direction, FileState, Ledger
from pipeline.practice import Practice
from pipeline.transport import open_transport
from pipeline.x12.validate import validate_file
from tests.flows.conftest import AT, ON, ROOT, World, start_world

LATER = ON + dt.timedelta(days=40)
MISTYPED = "NOT-THE-PAYERS-NUMBER"


def _clock(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(7, 0), tzinfo=dt.UTC)


def _ledger(w: World, day: dt.date) -> Ledger:
    return Ledger(w.workspace.ledger_url, clock=lambda: _clock(day))


def _windows() -> dict[str, int]:
    """Payer id -> response window, read from the payer profiles themselves."""
    out = {}
    for path in (ROOT / "mappings" / "payers").glob("*.yaml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        out[data["payer_id"]] = int(data.get("response_window_days", 30))
    return out


@dataclass
class Cycle:
    world: World
    accepted: dict[str, str]
    """PCN -> payer id of the claims accepted on night 1."""
    mistyped: str
    staged: steps.SendSummary
    acks: steps.AckSummary
    again: steps.SendSummary


@pytest.fixture(scope="module")
def cycle(
    tmp_path_factory: pytest.TempPathFactory, practice: Practice, codes: CodeSets
) -> Iterator[Cycle]:
    base = tmp_path_factory.mktemp("claim-status")
    for w in start_world(base, Faults(late=frozenset({"835"}))):
        ws, profile = w.workspace, w.profile
        with _ledger(w, ON) as ledger, open_transport(profile) as t:
            steps.send_claims(ledger, t, practice, ws, profile, on=ON, codes=codes, at=AT)
            w.clearinghouse.wait_idle()
            steps.collect(ledger, t, ws)
            steps.process_acknowledgments(ledger, ws)
            accepted = {
                c.patient_control_number: c.payer_id
                for c in ledger.claims_by_state(ClaimState.ACCEPTED)
            }
            # One payer claim number mistyped in the office: the payer will not find that claim.
            mistyped = sorted(accepted)[0]
            claim = ledger.claim(mistyped)
            assert claim is not None
            ledger.set_payer_claim_control_number(claim.id, MISTYPED)
        with _ledger(w, LATER) as ledger, open_transport(profile) as t:
            staged = steps.stage_claim_status(ledger, practice, ws, profile, on=LATER, at=AT)
            steps.upload_pending(ledger, t, ws)
            w.clearinghouse.wait_idle()
            steps.collect(ledger, t, ws)
            acks = steps.process_acknowledgments(ledger, ws)
            again = steps.stage_claim_status(ledger, practice, ws, profile, on=LATER, at=AT)
        yield Cycle(w, accepted, mistyped, staged, acks, again)


def test_asks_about_exactly_the_accepted_claims_past_their_payers_window(cycle: Cycle) -> None:
    windows = _windows()
    due = {pcn for pcn, payer in cycle.accepted.items() if windows[payer] < 40}
    assert due and len(due) < len(cycle.accepted)  # FAB03's 45-day window is not over yet
    with cycle.world.ledger() as ledger:
        asked = {c.patient_control_number for c in ledger.status_checks()}
    assert asked == due
    assert cycle.staged.count == len(due) and not cycle.staged.attention
    sent = cycle.world.workspace.sent_dir / str(cycle.staged.file)
    assert sent.read_text(encoding="ascii").count("ST*276*") >= 1
    assert validate_file(sent).status == "valid"


def _payments_by_claim(root: Path) -> dict[str, list[dict[str, str]]]:
    """PCN -> the payments (835 transaction sets) that carried it, in date order."""
    out: dict[str, list[dict[str, str]]] = {}
    for payment in read_ground_truth(root, "payment"):
        for pcn in payment["claims"]:
            out.setdefault(pcn, []).append(payment)
    return {pcn: sorted(p, key=lambda x: x["payment_date"]) for pcn, p in out.items()}


def test_each_answer_moves_its_claim_with_the_payers_amounts(cycle: Cycle) -> None:
    root = cycle.world.clearinghouse.root
    truth = {r["patient_control_number"]: r for r in read_ground_truth(root, "claim")}
    payments = _payments_by_claim(root)
    with cycle.world.ledger() as ledger:
        checks = {c.patient_control_number: c for c in ledger.status_checks()}
        assert cycle.acks.statuses == len(checks) and all(c.summary for c in checks.values())
        for pcn, check in checks.items():
            claim = ledger.claim(pcn)
            assert claim is not None and check.summary is not None
            events = [e for e in ledger.transitions(claim.id) if (e.code or "").startswith("277 ")]
            assert len(events) == 1, pcn
            event = events[0]
            assert event.reference == check.trace_number
            if pcn == cycle.mistyped:
                assert check.summary["status_category"] == "A4"
                assert claim.state is ClaimState.REJECTED and event.code == "277 A4:35"
                continue
            assert claim.state is ClaimState.ACCEPTED  # the money waits for the 835
            expected = truth[pcn]
            paid_by = [p for p in payments[pcn] if p["payment_date"] <= LATER.isoformat()]
            if not paid_by:  # adjudicated, paid in a later cycle (45 days after receipt)
                assert event.code == "277 F0:3" and event.amount is None, pcn
                continue
            assert check.summary["check_number"] == paid_by[-1]["trace_number"], pcn
            assert check.summary["payment_date"] == paid_by[-1]["payment_date"], pcn
            if expected["outcome"] == "voided":  # the payer's last word is the reversal
                assert event.code == "277 F3:1" and event.amount is not None
                assert event.amount <= 0
                continue
            first_paid = Decimal(expected["first_paid_amount"])
            assert event.amount == first_paid, pcn
            category = "F1" if first_paid > 0 else "F2" if expected["outcome"] == "denied" else "F4"
            assert check.summary["status_category"] == category, pcn


def test_a_rerun_asks_nothing_and_posts_nothing_twice(cycle: Cycle) -> None:
    from pipeline.parse import parse_file
    from pipeline.reconcile.inputs import records
    from pipeline.steps.claim_status import post_claim_statuses

    assert cycle.again.file is None and cycle.again.count == 0
    w = cycle.world
    with _ledger(w, LATER) as ledger:
        answers = [
            f for f in ledger.files_by_state(FileState.POSTED, direction=Direction.RECEIVED)
            if f.names[0].startswith("277_")
        ]  # fmt: skip
        assert len(answers) == 1
        before = {c.id: len(ledger.transitions(c.id)) for c in ledger.claims_by_state(*ClaimState)}
        rows = records(parse_file(answers[0].local_path or "").tables["claim_statuses"])
        replay = steps.AckSummary()
        post_claim_statuses(ledger, answers[0], rows, replay)  # the same 277 posted again
        after = {c.id: len(ledger.transitions(c.id)) for c in ledger.claims_by_state(*ClaimState)}
    assert before == after and replay.rejected == 0 and not replay.attention


def test_flags_say_what_the_payer_answered(cycle: Cycle, practice: Practice) -> None:
    w = cycle.world
    with _ledger(w, LATER) as ledger:
        steps.reconcile_and_export(ledger, practice, w.workspace, on=LATER)
        checks = {c.patient_control_number: c for c in ledger.status_checks()}
        rejected = {c.patient_control_number for c in ledger.claims_by_state(ClaimState.REJECTED)}
    with (w.workspace.exports_dir / "flags.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    resubmit = {
        r["patient_control_number"]: r for r in rows if r["flag"] == "rejected_correct_resubmit"
    }
    # The claim the payer could not find (277 A4:35) is to be corrected and sent again ...
    mistyped = resubmit.pop(cycle.mistyped)
    assert "A4:35" in mistyped["reason"] and "send it again" in mistyped["action"]
    # ... beside the claims the clearinghouse rejected on night 1 (277CA/999), and no others.
    assert set(resubmit) == rejected - {cycle.mistyped}
    assert all("A4:35" not in r["reason"] for r in resubmit.values())
    no_response = {r["patient_control_number"]: r for r in rows if r["flag"] == "no_response"}
    paid = [p for p, c in checks.items() if c.status == "paid"]
    assert paid
    for pcn in paid:
        said = checks[pcn].summary or {}
        row = no_response[pcn]
        assert (
            "F1:65" in row["reason"] and f"paid {Decimal(said['paid_amount']):.2f}" in row["reason"]
        )
        assert "resend the remittance" in row["action"]


def test_one_claim_asked_in_real_time_over_core(
    cycle: Cycle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.clearinghouse.realtime import RealtimeServer, core_app
    from pipeline.clearinghouse.tls import make_certificate
    from pipeline.cli_realtime import claim_status_check_command
    from pipeline.settings import get_settings
    from pipeline.transport.core import Credentials
    from pipeline.transport.profiles import RealtimeEndpoint
    from pipeline.transport.realtime import HttpsCoreTransport

    w = cycle.world
    windows = _windows()
    pcn = sorted(p for p, payer in cycle.accepted.items() if windows[payer] >= 40)[0]
    payments = _payments_by_claim(w.clearinghouse.root)[pcn]
    creds = Credentials("clinic", "s3cret")
    tls = make_certificate(tmp_path / "cert.pem", tmp_path / "key.pem")
    app = core_app(w.clearinghouse.respond_realtime, creds)
    server = RealtimeServer(app, tls.certificate, tls.key).start()
    for key, value in {
        "CLAIMFLOW_HOME": str(w.workspace.base),
        "CLAIMFLOW_DATABASE_URL": w.workspace.ledger_url,
        "CLAIMFLOW_PRACTICE_DIR": str(ROOT / "sample_edi" / "practice"),
        "CLAIMFLOW_REALTIME_USERNAME": creds.username,
        "CLAIMFLOW_REALTIME_PASSWORD": creds.password,
    }.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    out = io.StringIO()
    try:
        endpoint = RealtimeEndpoint(url=server.url, certificate=tls.certificate)
        with HttpsCoreTransport(endpoint) as transport:
            code = claim_status_check_command(
                pcn, transport=transport, stdout=out, now=_clock(LATER).replace(tzinfo=None)
            )
    finally:
        server.stop()
        get_settings.cache_clear()
    assert code == 0, out.getvalue()
    with _ledger(w, LATER) as ledger:
        (check,) = ledger.status_checks(patient_control_number=pcn)
        claim = ledger.claim(pcn)
        assert claim is not None
        (event,) = [e for e in ledger.transitions(claim.id) if (e.code or "").startswith("277 ")]
    assert check.channel == "realtime" and check.summary is not None
    paid_by = [p for p in payments if p["payment_date"] <= LATER.isoformat()]
    assert paid_by, "FAB03 pays its first cycle within 40 days"
    assert check.summary["check_number"] == paid_by[-1]["trace_number"]
    assert event.reference == check.trace_number and event.code in (
        "277 F1:65",
        "277 F4:1",
        "277 F2:1",
    )
    assert pcn in out.getvalue() and "answered in" in out.getvalue()
