"""The nightly steps without Prefect, against the embedded clearinghouse over SFTP."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

from pipeline import steps
from pipeline.build.codes import CodeSets
from pipeline.clearinghouse import Faults
from pipeline.ledger import ClaimState, Direction, FileState
from pipeline.practice import Practice
from pipeline.transport import open_transport
from tests.flows.conftest import ON, ROOT, World, start_world
from tests.flows.nightly_steps import run_night


def _transitions(w: World) -> int:
    with w.ledger() as ledger:
        return sum(len(ledger.transitions(c.id)) for c in ledger.claims_by_state(*ClaimState))


def test_one_night_sends_collects_posts_and_exports(
    world: World, practice: Practice, codes: CodeSets
) -> None:
    night = run_night(world, practice, codes)
    eligibility, claims = night.sent
    # tomorrow's 20 appointments (22 coverages) and 185 coverages for the patients/dates of
    # service of the encounters not billed yet (one future and two voids left out)
    assert eligibility.file and eligibility.count == 207
    assert claims.file and claims.count == 125
    expected = set()
    for name in ("expected_holds.csv", "expected_eligibility_holds.csv"):
        with (ROOT / "tests" / "build" / name).open() as fh:
            expected |= {row["encounter_id"] for row in csv.DictReader(fh)}
    assert len(expected) == 60  # 25 scrubber holds + 37 from the 271s (E0169, E0178 in both)
    assert {h["encounter_id"] for h in claims.held} == expected  # E0167 (future) too
    assert world.remote("outbound") == [eligibility.file, claims.file]
    assert sorted(os.listdir(world.workspace.sent_dir)) == [eligibility.file, claims.file]
    # every answer downloaded, registered, archived on the server
    assert night.collected is not None and not night.collected.attention
    assert world.remote("inbound") == []
    assert sorted(world.remote("archive")) == sorted(night.collected.received)
    assert night.acks is not None and night.acks.rejected == len(night.acks.rejections) >= 1
    assert night.eligibility is not None and night.eligibility.responses == 207
    assert night.remit is not None and night.remit.files >= 5 and not night.remit.unmatched
    assert night.counts["sent"] == 125
    c = night.counts  # each claim once, in its current state
    parts = ("awaiting_acknowledgment", "accepted", "rejected", "paid_any", "denied", "other")
    assert sum(c[k] for k in parts) == 125 and c["rejected"] == night.acks.rejected
    assert night.acks.accepted + night.acks.rejected == 125  # a 999 then a 277CA: one verdict
    assert night.counts["paid"] > 0 and night.counts["denied"] > 0
    with world.ledger() as ledger:
        assert steps.awaiting(ledger, world.profile, on=ON).done
        rejected = ledger.claims_by_state(ClaimState.REJECTED)
        paid = ledger.claims_by_state(ClaimState.PAID)
        accepted = [c for c in paid if c.payer_claim_control_number]
    assert {c.patient_control_number for c in rejected} == {
        r["patient_control_number"] for r in night.acks.rejections
    }
    assert accepted, "paid claims carry the payer's claim number (277CA REF*1K / CLP07)"
    _check_receipt_dates(world)
    r = night.reconciled
    assert r is not None and r.flags > 0 and r.dollars_flagged > 0
    # the summary outlives the stage: it keeps the flags the flow publishes, no other table
    assert list(r.tables) == ["flags"] and len(r.tables["flags"]) == r.flags
    for name in ("flags.csv", "flags.parquet", "claimflow.xlsx"):
        assert (world.workspace.exports_dir / name).exists()
    assert r.letters > 0 and any(world.workspace.letters_dir.iterdir())
    assert world.workspace.report_path.stat().st_size > 1000


def test_a_second_night_sends_nothing_twice_and_posts_nothing_twice(
    world: World, practice: Practice, codes: CodeSets
) -> None:
    first = run_night(world, practice, codes)
    outbound, transitions = world.remote("outbound"), _transitions(world)
    with world.ledger() as ledger:
        receipts = len(ledger.case_events(kind="remittance"))
    flags = (world.workspace.exports_dir / "flags.csv").read_bytes()
    second = run_night(world, practice, codes)
    assert [s.file for s in second.sent] == [None, None]
    assert [s.already_sent for s in second.sent] == [20, 125]
    assert world.remote("outbound") == outbound
    assert second.collected is not None and second.collected.received == []
    assert second.remit is not None and second.remit.files == 0
    assert _transitions(world) == transitions
    with world.ledger() as ledger:
        assert len(ledger.case_events(kind="remittance")) == receipts  # posted once
    assert second.counts == first.counts
    assert (world.workspace.exports_dir / "flags.csv").read_bytes() == flags
    with world.ledger() as ledger:
        sent = ledger.files_by_state(FileState.UPLOADED, direction=Direction.SENT)
        assert len(sent) == 2
        for claim in ledger.claims_by_state(ClaimState.PAID, ClaimState.DENIED):
            assert len(ledger.submissions(claim.id)) == 1

    # Someone sends last night's 837P again by hand: the clearinghouse refuses the copy
    # (TA1 R/025); the claims keep their states and a person is told.
    claims_file = world.workspace.sent_dir / first.sent[1].file  # type: ignore[operator]
    with open_transport(world.profile) as transport, world.ledger() as ledger:
        transport.upload(claims_file, "837_BY_HAND.x12")
        world.clearinghouse.wait_idle()
        steps.collect(ledger, transport, world.workspace)
        acks = steps.process_acknowledgments(ledger, world.workspace)
        assert acks.rejected == 0 and len(acks.attention) == 1
        assert "arrived twice" in acks.attention[0]
        assert steps.claim_counts(ledger) == first.counts


def test_bad_and_duplicate_deliveries_are_set_aside_and_the_rest_goes_on(
    tmp_path: Path, practice: Practice, codes: CodeSets
) -> None:
    for w in start_world(tmp_path, Faults(duplicate=True, malformed=True)):
        night = run_night(w, practice, codes)
        assert night.collected is not None
        cut = [n for n in night.collected.received if "_CUT_" in n]
        again = [n for n in night.collected.duplicates if "_AGAIN_" in n]
        assert cut and again  # the duplicate was registered as seen again, not as new
        assert night.remit is not None
        assert len(night.remit.attention) == len(cut)
        assert cut[0] in night.remit.attention[0] and "quarantined" in night.remit.attention[0]
        reason = w.workspace.quarantine_dir / f"{cut[0]}.reason.txt"
        assert reason.exists() and (w.workspace.quarantine_dir / cut[0]).exists()
        assert night.counts["paid"] > 0  # the good 835s were posted all the same
        with w.ledger() as ledger:
            quarantined = ledger.files_by_state(FileState.QUARANTINED)
            assert [f.names[0] for f in quarantined] == cut
            assert quarantined[0].quarantine_reason
            posted = ledger.files_by_state(FileState.POSTED, direction=Direction.RECEIVED)
            assert not any("_AGAIN_" in f.names[0] for f in posted)
            assert any(set(again) & set(f.names) for f in posted)  # seen again, posted once


CRASHING_SEND = """
import os, sys
from datetime import date, time
from pathlib import Path
from pipeline.build.codes import load_code_sets
from pipeline.ledger import Ledger
from pipeline.practice import load_practice
from pipeline.settings import get_settings
from pipeline.steps import Workspace, send_claims
from pipeline.transport import load_profile, open_transport


class CrashAfterUpload:
    \"\"\"The real transport, except that the process dies right after the 837's upload
    returns: uploaded, not yet recorded in the ledger (a kill at the worst moment).\"\"\"

    def __init__(self, inner):
        self.inner = inner

    def upload(self, local_path, remote_name=None):
        result = self.inner.upload(local_path, remote_name)
        if result.name.startswith("837"):
            os._exit(86)
        return result

    def __getattr__(self, name):
        return getattr(self.inner, name)


base, profile_path = Path(sys.argv[1]), Path(sys.argv[2])
ws = Workspace(base)
profile = load_profile(profile_path)
practice = load_practice(sys.argv[3]).practice
transport = CrashAfterUpload(open_transport(profile))
with Ledger(ws.ledger_url) as ledger:
    send_claims(ledger, transport, practice, ws, profile, on=date(2026, 11, 27),
                codes=load_code_sets(get_settings().mappings_dir), at=time(2, 0))
"""


def test_killed_between_upload_and_ledger_commit_then_rerun_loses_and_doubles_nothing(
    world: World, practice: Practice, codes: CodeSets
) -> None:
    env = dict(os.environ)
    args = [str(world.workspace.base), str(world.profile_path), str(ROOT / "sample_edi/practice")]
    crashed = subprocess.run(
        [sys.executable, "-c", CRASHING_SEND, *args], env=env, cwd=ROOT, capture_output=True
    )
    assert crashed.returncode == 86, crashed.stderr.decode()[-2000:]
    world.clearinghouse.wait_idle()
    assert len([n for n in world.remote("outbound") if n.startswith("837")]) == 1
    with world.ledger() as ledger:
        (pending,) = ledger.pending_uploads()  # uploaded, but the ledger never heard back
        assert pending.name.startswith("837")
    # the rerun finds it pending, sees the same bytes on the server, builds nothing new
    night = run_night(world, practice, codes)
    claims = night.sent[1]
    assert claims.file is None and claims.already_sent == 160
    uploads = [s.upload for s in night.sent]
    assert [n for u in uploads for n in u.already_there] == [pending.name]
    assert [n for u in uploads for n in u.uploaded if n.startswith("837")] == []
    assert len([n for n in world.remote("outbound") if n.startswith("837")]) == 1
    with world.ledger() as ledger:
        assert ledger.pending_uploads() == []
        sent = ledger.files_by_state(FileState.UPLOADED, direction=Direction.SENT)
        assert [f.transaction_type for f in sent] == ["837", "270"]
        for claim in ledger.claims_by_state(*ClaimState):
            assert len(ledger.submissions(claim.id)) <= 1
    assert night.counts["sent"] == 160
    assert night.acks is not None and not night.acks.attention
    # the clearinghouse answered the one interchange once: no TA1 for a reused ISA13
    assert night.collected is not None
    assert len([n for n in night.collected.received if n.startswith("999")]) == 1


def test_an_invalid_file_is_never_staged_or_sent(world: World) -> None:
    from pipeline.steps.outbound import _stage

    summary = steps.SendSummary("837")
    cut = b"ISA*00*          *00*          *ZZ*LKSSM0001      *ZZ*CLEARHOUSE     *261127*0200*^*"
    with world.ledger() as ledger:
        staged = _stage(ledger, world.workspace, summary, cut, "837_X_000000042.x12", {}, (), "837")
        assert not staged and ledger.pending_uploads() == []
        assert ledger.files_by_state(FileState.STAGED, FileState.UPLOADED) == []
    assert summary.file is None
    assert summary.attention and summary.attention[0].startswith("837_X_000000042.x12: unreadable")
    assert "not sent" in summary.attention[0]
    assert (world.workspace.quarantine_dir / "837_X_000000042.x12").read_bytes() == cut
    assert not (world.workspace.sent_dir / "837_X_000000042.x12").exists()
    assert world.remote("outbound") == []


def _check_receipt_dates(world: World) -> None:
    """Posting an 835 records, per adjudicated claim, the day its payment or denial came: the
    835's BPR16 (read here from the received files, not from the ledger code)."""
    from pipeline.parse import parse_file

    want: dict[str, str] = {}
    for path in sorted(world.workspace.received_dir.glob("835*")):
        tables = parse_file(path).tables
        dates = dict(
            zip(
                tables["remit_payments"].trace_number,
                tables["remit_payments"].payment_date,
                strict=True,
            )
        )
        for clp in tables["remit_claims"].itertuples():
            if clp.claim_status_code != "22":
                want[clp.claim_key] = str(dates[clp.trace_number])[:10]
    with world.ledger() as ledger:
        got = {e.reference: e.on.isoformat() for e in ledger.case_events(kind="remittance")}
    assert got and got == want
