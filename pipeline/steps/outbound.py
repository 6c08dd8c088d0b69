"""Outbound steps: build a 270 or 837P, validate it, stage it in the ledger outbox, upload.

(The 276 claim status requests go the same way: :mod:`pipeline.steps.claim_status`.)

The order is what makes a crash harmless:

1. ``upload_pending`` first sends whatever an earlier run staged but never confirmed;
2. a new file is built with control numbers from the ledger, validated (an invalid file is
   never sent: it is copied to ``quarantine/`` and reported), then committed together with its
   claims' ``submitted`` state (``stage_submission``) — one transaction;
3. only then uploaded; ``mark_uploaded`` follows the remote rename.

Killed between 3's upload and its ledger commit, the next run finds the file still pending,
uploads it again under the same name, and the transport sees the same bytes already there
(``UploadResult.skipped``): nothing lost, nothing sent twice.
"""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Iterable
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path

from pipeline.benchnight import stage
from pipeline.build.codes import CodeSets
from pipeline.build.scrub import Finding, scrub
from pipeline.build.scrub_eligibility import EligibilityOnFile, claim_inquiries
from pipeline.build.service_types import ServiceTypeMap, load_service_types
from pipeline.build.t270 import build_270
from pipeline.build.t837p import ClaimContext, build_837p, claim_record
from pipeline.errors import IllegalTransition
from pipeline.ledger import (
    Cause,
    ClaimDraft,
    ClaimRecord,
    ClaimState,
    Controls,
    EligibilityRequest,
    Ledger,
    LineDraft,
    StatusCheckRequest,
)
from pipeline.ledger.eligibility import coverage_facts
from pipeline.ledger.registry import sniff_controls
from pipeline.practice import Appointment, Encounter, Practice
from pipeline.steps.summaries import SendSummary, UploadSummary
from pipeline.steps.workspace import Workspace
from pipeline.transport import ClearinghouseProfile, Transport
from pipeline.transport.base import sha256_file
from pipeline.x12.validate import validate_file

__all__ = [
    "envelope_time",
    "send_claims",
    "send_eligibility",
    "stage_claims",
    "stage_eligibility",
    "upload_pending",
]

_UNSENT = (ClaimState.READY, ClaimState.SCRUB_FAILED)
_ZERO = Decimal("0")


def envelope_time(on: date, at: time | None = None) -> datetime:
    """ISA09/GS04 stamp: the business date at ``at`` (default: the current time of day)."""
    return datetime.combine(on, at or datetime.now().time().replace(microsecond=0))


def upload_pending(ledger: Ledger, transport: Transport, workspace: Workspace) -> UploadSummary:
    """Upload every staged file not confirmed yet (oldest first) and mark it uploaded."""
    summary = UploadSummary()
    for pending in ledger.staged_files():
        local = workspace.sent_dir / pending.name
        # The copy _stage kept is checked by its hash, block by block; the ledger's bytes are
        # read only when it is missing or not the file staged (a crash, a hand edit).
        if not local.is_file() or sha256_file(local) != pending.sha256:
            local = _keep(workspace.sent_dir, pending.name, ledger.outbox_content(pending.file_id))
        with stage("upload"):
            result = transport.upload(local, pending.name)
        ledger.mark_uploaded(pending.file_id, result.name)
        (summary.already_there if result.skipped else summary.uploaded).append(result.name)
    return summary


def stage_eligibility(
    ledger: Ledger,
    practice: Practice,
    workspace: Workspace,
    profile: ClearinghouseProfile,
    *,
    on: date,
    at: time | None = None,
) -> SendSummary:
    """270 for tomorrow's appointments not asked about before; staged with its inquiries.

    The same file asks about the dates of service of the encounters not billed yet, so their
    271s are on file when the claims step scrubs them the same night.
    """
    day = date.fromordinal(on.toordinal() + 1)
    asked = ledger.eligibility_asked()
    wanted = [a for a in practice.appointments if a.date == day]
    todo = [a for a in wanted if (a.patient_id, a.date) not in asked]
    sent = {c.patient_control_number for c in _sent_claims(ledger, practice.encounters)}
    unbilled = [e for e in practice.encounters if e.patient_control_number not in sent]
    with stage("scrub"):
        also = asked | {(a.patient_id, a.date) for a in todo}
        todo += claim_inquiries(unbilled, on=on, asked=also)
    del asked, sent, unbilled, also  # the build below is the step's peak
    summary = SendSummary("270", already_sent=len(wanted) - sum(a.date == day for a in todo))
    if not todo:
        return summary
    built = _build_270(ledger, practice, todo, envelope_time(on, at), summary)
    del todo
    if built is None:
        return summary
    content, isa13, requests = built
    name = _remote_name(profile, practice, "270", isa13)
    if _stage(ledger, workspace, summary, content, name, {}, requests, "270"):
        summary.count = len(requests)
    return summary


def _build_270(
    ledger: Ledger,
    practice: Practice,
    todo: list[Appointment],
    now: datetime,
    summary: SendSummary,
) -> tuple[bytes, str, list[EligibilityRequest]] | None:
    """The 270's bytes, ISA13 and inquiries (``None``: none could be built; ``summary.held``
    says why). The builder's records and text are let go here, before validation and staging.
    """
    buffer = io.StringIO()
    with stage("build"):
        built = build_270(
            practice.model_copy(update={"appointments": todo}),
            buffer,
            on=None,
            control_numbers=ledger.control_numbers,
            now=now,
        )
    summary.held = [_finding(f) for f in built.findings if f.severity == "error"]
    if not built.inquiries:
        return None
    requests = [
        EligibilityRequest(
            trace_number=i.trace_number,
            payer_id=i.payer_id,
            member_id=i.member_id,
            patient_id=i.patient_id,
            service_date=i.service_date,
            service_types=tuple(i.service_types),
        )
        for i in built.inquiries
    ]
    content = buffer.getvalue().encode("ascii")
    buffer.close()  # the text as str is not needed next to its bytes
    return content, built.interchange_control_number, requests


def send_eligibility(
    ledger: Ledger,
    transport: Transport,
    practice: Practice,
    workspace: Workspace,
    profile: ClearinghouseProfile,
    *,
    on: date,
    at: time | None = None,
) -> SendSummary:
    """Pending uploads, then a 270 for tomorrow's appointments: build, validate, stage, upload."""
    first = upload_pending(ledger, transport, workspace)
    summary = stage_eligibility(ledger, practice, workspace, profile, on=on, at=at)
    summary.upload = _merge(first, upload_pending(ledger, transport, workspace))
    return summary


def stage_claims(
    ledger: Ledger,
    practice: Practice,
    workspace: Workspace,
    profile: ClearinghouseProfile,
    *,
    on: date,
    codes: CodeSets,
    at: time | None = None,
    service_types: ServiceTypeMap | None = None,
) -> SendSummary:
    """Scrub the encounters not sent yet, record them, build and stage the 837P.

    Future-dated encounters are the scrubber's call (``dos_future`` holds them until then);
    so is coverage: the scrubber decides with every 271 the ledger holds.
    """
    encounters = list(practice.encounters)
    with stage("ledger: claims recorded"):
        sent = {c.patient_control_number for c in _sent_claims(ledger, encounters)}
    todo = [e for e in encounters if e.patient_control_number not in sent]
    summary = SendSummary("837", already_sent=len(encounters) - len(todo))
    if not todo:
        return summary
    with stage("scrub"):
        errors, scrub_held = _scrub_todo(
            ledger, practice, encounters, todo, on=on, codes=codes, service_types=service_types
        )
    # The 837P is written straight to a draft file, never held as text and bytes in memory
    # (tens of MB a night); the draft is removed unless it is renamed to its outbox name.
    part = _draft_part(workspace.outgoing_dir, "837")
    try:
        with part.open("w", encoding="ascii", newline="") as out, stage("build"):
            built = build_837p(
                practice,
                out,
                control_numbers=ledger.control_numbers,
                today=on,
                codes=codes,
                encounters=[e for e in todo if e.encounter_id not in scrub_held],
                now=envelope_time(on, at),
                prescrubbed=True,  # scrubbed above, with the 271s and every encounter
            )
        errors += built.report.errors()
        wrote, transactions = bool(built.claims), built.transactions
        isa13, gs06 = built.interchange_control_number, built.group_control_number
        del built  # its claim records (every line of every claim) are not needed from here on
        held = {f.encounter_id for f in errors}
        summary.held = [_finding(f) for f in errors]
        with stage("ledger: claims recorded"):
            ids = _record_claims(ledger, practice, todo, held)
        if not wrote:
            return summary
        claims: dict[int, Controls] = {}
        for st02, pcns in transactions.items():
            ctl = Controls(isa13, gs06, st02, "837")
            claims.update({ids[pcn]: ctl for pcn in pcns})
        name = _remote_name(profile, practice, "837", isa13)
        draft = part.replace(workspace.outgoing_dir / name)
    finally:
        part.unlink(missing_ok=True)
    if _stage(ledger, workspace, summary, draft, name, claims, (), "837"):
        summary.count = len(claims)
    return summary


def send_claims(
    ledger: Ledger,
    transport: Transport,
    practice: Practice,
    workspace: Workspace,
    profile: ClearinghouseProfile,
    *,
    on: date,
    codes: CodeSets,
    at: time | None = None,
) -> SendSummary:
    """Pending uploads, then scrub -> record -> 837P -> validate -> stage -> upload -> mark."""
    first = upload_pending(ledger, transport, workspace)
    summary = stage_claims(ledger, practice, workspace, profile, on=on, codes=codes, at=at)
    summary.upload = _merge(first, upload_pending(ledger, transport, workspace))
    return summary


# -- helpers ------------------------------------------------------------------------------------


def _scrub_todo(
    ledger: Ledger,
    practice: Practice,
    encounters: list[Encounter],
    todo: list[Encounter],
    *,
    on: date,
    codes: CodeSets,
    service_types: ServiceTypeMap | None,
) -> tuple[list[Finding], set[str]]:
    """The errors on the encounters to send, and every held encounter id.

    Scrubbed against every encounter: a duplicate of a claim sent last night is still a
    duplicate tonight. A function of its own so the 271 facts and the full report (warnings
    included) are freed before the build, not kept for the rest of the claims step.
    """
    on_file = _on_file(ledger, service_types)
    report = scrub(practice, encounters, today=on, codes=codes, eligibility=on_file)
    pending = {e.encounter_id for e in todo}
    errors = [f for f in report.errors() if f.encounter_id in pending]
    return errors, report.held  # held: a set built per call, once, not once per encounter


def _on_file(ledger: Ledger, service_types: ServiceTypeMap | None) -> EligibilityOnFile:
    if service_types is None:
        from pipeline.settings import get_settings

        service_types = load_service_types(get_settings().mappings_dir)
    return EligibilityOnFile(coverage_facts(ledger.iter_eligibility_checks()), service_types)


def _sent_claims(ledger: Ledger, encounters: Iterable[Encounter]) -> list[ClaimRecord]:
    known = ledger.latest_claims(e.patient_control_number for e in encounters)  # chunked
    out: list[ClaimRecord] = []
    for e in encounters:
        claim = known.get(e.patient_control_number)
        if claim is not None and claim.state not in _UNSENT:
            out.append(claim)
    return out


def _record_claims(
    ledger: Ledger, practice: Practice, encounters: list[Encounter], held: set[str]
) -> dict[str, int]:
    """Each encounter as a ledger claim (``ready`` or ``scrub_failed``); PCN -> claim id."""
    context = ClaimContext(practice)
    drafts: list[ClaimDraft] = []
    for e in encounters:
        failed = e.encounter_id in held
        try:
            record = claim_record(practice, e, context=context)
        except (KeyError, ValueError):
            record = None  # no coverage / unknown payer: the scrubber holds it
        lines: tuple[LineDraft, ...] = ()
        if record is None or not record.lines:
            payer_id, payer_name = "", None
            charge = e.total_charge or sum((c.charge for c in e.charges), start=_ZERO)
        else:
            payer_id, payer_name, charge = record.payer_id, record.payer_name, record.total_charge
            lines = tuple(
                LineDraft(
                    line_number=ln.line_number,
                    line_control_number=ln.line_control_number,
                    procedure_code=ln.procedure_code,
                    charge_amount=ln.charge,
                    service_date=ln.service_date,
                    units=ln.units,
                    modifiers=tuple(ln.modifiers),
                    place_of_service=ln.place_of_service or record.place_of_service,
                )
                for ln in record.lines
            )
        draft = ClaimDraft(
            patient_control_number=e.patient_control_number,
            payer_id=payer_id,
            charge_amount=charge,
            service_date_start=e.service_date,
            service_date_end=e.service_date_end or e.service_date,
            lines=lines,
            state=ClaimState.SCRUB_FAILED if failed else ClaimState.READY,
            frequency_code=str(e.frequency),
            payer_name=payer_name,
            patient_id=e.patient_id,
            encounter_id=e.encounter_id,
            cause=Cause(code="scrub", note="held by the scrubber" if failed else None),
        )
        drafts.append(draft)
    # One transaction for the night's claims, not one commit per claim.
    return ledger.record_claim_ids(drafts)


def _stage(
    ledger: Ledger,
    workspace: Workspace,
    summary: SendSummary,
    content: bytes | Path,
    name: str,
    claims: dict[int, Controls],
    requests: Iterable[EligibilityRequest],
    transaction: str,
    status_checks: Iterable[StatusCheckRequest] = (),
) -> bool:
    """Validate the file, then commit it to the outbox and keep its copy in ``edi/sent``.

    ``content``: the file's bytes, or the draft already written to ``outgoing/<name>``.
    An invalid file goes to ``quarantine/`` with its reason, never to the outbox; claims another
    run staged first (two nights at once) leave this file unsent and say so.
    """
    draft = content if isinstance(content, Path) else _keep(workspace.outgoing_dir, name, content)
    del content  # read back from the draft below, once, for the outbox only
    with stage("validate"):
        report = validate_file(draft)
    if report.status != "valid":
        first = report.message or (str(report.problems[0]) if report.problems else "")
        count = len(report.problems)
        reason = f"{name}: {report.status} {transaction} ({count} problem(s)), not sent: {first}"
        _set_aside(workspace, draft, reason)
        summary.attention.append(reason)
        return False
    _, controls = sniff_controls(draft)
    local = workspace.sent_dir / name
    try:
        with stage("ledger: staged"):
            ledger.stage_submission(
                draft.read_bytes(),
                name,
                claims,
                controls,
                transaction_type=transaction,
                local_path=local,
                eligibility=tuple(requests),
                status_checks=tuple(status_checks),
            )
    except IllegalTransition as exc:
        draft.unlink(missing_ok=True)
        summary.attention.append(f"{name}: not sent, another run sent its claims first ({exc})")
        return False
    local.parent.mkdir(parents=True, exist_ok=True)
    draft.replace(local)
    summary.file = name
    return True


def _set_aside(workspace: Workspace, local: Path, reason: str) -> None:
    workspace.quarantine_dir.mkdir(parents=True, exist_ok=True)
    target = workspace.quarantine_dir / local.name
    local.replace(target)
    target.with_name(target.name + ".reason.txt").write_text(reason + "\n", encoding="utf-8")


def _draft_part(folder: Path, transaction: str) -> Path:
    """A new, empty hidden file in ``folder`` for a file being built (its name not known yet:
    it comes from the ISA13 the build draws); unique, so two runs at once never share one."""
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob(f".{transaction}-*-*.part"):  # left by a run that was killed
        if not _alive(stale.name.split("-")[1]):
            stale.unlink(missing_ok=True)
    path = folder / f".{transaction}-{os.getpid()}-{uuid.uuid4().hex[:12]}.part"
    path.touch(exist_ok=False)  # the mode write_bytes would give, unlike mkstemp's 0600
    return path


def _alive(pid: str) -> bool:
    """Whether the process that named a draft still runs (so its draft is not stale)."""
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def _keep(folder: Path, name: str, content: bytes) -> Path:
    """The local copy of an outbound file (written atomically; same bytes kept as they are)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if path.exists() and path.read_bytes() == content:
        return path
    tmp = folder / f".{name}.tmp"
    tmp.write_bytes(content)
    tmp.replace(path)
    return path


def _remote_name(
    profile: ClearinghouseProfile, practice: Practice, transaction: str, isa13: str
) -> str:
    bp = practice.billing_provider
    return profile.upload_name_for(
        transaction=transaction,
        control_number=isa13,
        sender_id=bp.submitter_etin,
        receiver_id=bp.receiver_id,
        name=f"{transaction}_{isa13}.x12",
    )


def _merge(a: UploadSummary, b: UploadSummary) -> UploadSummary:
    return UploadSummary(a.uploaded + b.uploaded, a.already_there + b.already_there)


def _finding(f: Finding) -> dict[str, str]:
    return {
        "encounter_id": f.encounter_id,
        "patient_control_number": f.patient_control_number,
        "rule": f.rule,
        "field": f.field,
        "message": f.message,
    }
