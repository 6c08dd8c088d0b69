"""Real-time eligibility (270/271) and claim status (276/277) over the CORE endpoint.

One request, built by the batch builders (:func:`pipeline.build.t270.build_270`,
:func:`pipeline.build.t276.build_276`) with control numbers from the ledger, is sent through a
:class:`~pipeline.transport.realtime.RealtimeTransport` and its answer is waited for. The answer
is then stored exactly like a batch answer: registered as a received file under
``edi/received/realtime/`` and posted by the same step (:func:`process_eligibility` for a 271,
:func:`process_acknowledgments` for a 277), so the ledger cannot tell the two channels apart
except by the ``realtime`` channel of a status check. The request is recorded before it is
sent. Both envelopes are kept under ``edi/realtime/`` — the request with its password masked.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pipeline.errors import ConfigError, PracticeDataError
from pipeline.ledger import EligibilityRequest, FileRecord, Ledger, StatusCheckRequest
from pipeline.practice import Practice
from pipeline.practice.model import Appointment
from pipeline.steps.workspace import Workspace
from pipeline.transport.core import Credentials, request_envelope
from pipeline.transport.realtime import Exchange, RealtimeTransport, exchange

__all__ = ["RealtimeResult", "check_claim_status", "check_eligibility"]

ELIGIBILITY = "X12_270_Request_005010X279A1"
CLAIM_STATUS = "X12_276_Request_005010X212"


@dataclass
class RealtimeResult:
    """What one real-time check sent and got: the answer's table rows for its trace(s)."""

    kind: str  # "271" or "277"
    exchange: Exchange
    file: FileRecord
    traces: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)
    attention: list[str] = field(default_factory=list)


def check_eligibility(
    ledger: Ledger,
    practice: Practice,
    workspace: Workspace,
    transport: RealtimeTransport,
    credentials: Credentials,
    *,
    patient_id: str,
    on: date,
    now: datetime | None = None,
) -> RealtimeResult:
    """A 270 for ``patient_id`` on ``on`` (each coverage), its 271 stored and summarised."""
    from pipeline.build.t270 import build_270
    from pipeline.steps.eligibility import process_eligibility

    if patient_id not in practice.patients:
        raise PracticeDataError(f"patient {patient_id!r} is not in the practice export")
    visit = Appointment(
        appointment_id=f"realtime-{patient_id}", patient_id=patient_id, provider_id="", date=on
    )
    buffer = io.StringIO()
    built = build_270(
        practice.model_copy(update={"appointments": [visit]}),
        buffer,
        on=on,
        control_numbers=ledger.control_numbers,
        now=now,
    )
    if not built.inquiries:
        reasons = "; ".join(f"{f.field}: {f.message}" for f in built.findings) or "no coverage"
        raise PracticeDataError(f"patient {patient_id}: no 270 can be built ({reasons})")
    for i in built.inquiries:
        ledger.record_eligibility_request(
            EligibilityRequest(
                i.trace_number, i.payer_id, i.member_id, i.patient_id, i.service_date,
                tuple(i.service_types),
            )
        )  # fmt: skip
    traces = [i.trace_number for i in built.inquiries]
    result = _send(ledger, workspace, transport, credentials, practice, ELIGIBILITY, buffer, "271")
    result.traces = traces
    summary = process_eligibility(ledger, workspace)
    result.attention += summary.attention
    for trace in traces:
        found = ledger.eligibility(trace)
        if found is not None and found.summary:
            result.rows.append(dict(found.summary))
    return result


def check_claim_status(
    ledger: Ledger,
    practice: Practice,
    workspace: Workspace,
    transport: RealtimeTransport,
    credentials: Credentials,
    *,
    patient_control_number: str,
    now: datetime | None = None,
) -> RealtimeResult:
    """A 276 for one claim (as it was last sent), its 277 stored and posted to the ledger."""
    from pipeline.build.t276 import build_276, status_request
    from pipeline.steps.acknowledgments import process_acknowledgments
    from pipeline.steps.claim_status import sent_claims

    claim = ledger.claim(patient_control_number)
    if claim is None:
        raise ConfigError(f"claim {patient_control_number!r} is not in the ledger")
    sent = sent_claims(ledger, [claim]).get(claim.id)
    if sent is None:
        raise ConfigError(f"claim {patient_control_number}: no 837P it was sent in is on file")
    bp = practice.billing_provider
    buffer = io.StringIO()
    request = status_request(
        sent, payer_claim_control_number=claim.payer_claim_control_number or ""
    )
    built = build_276(
        [request], buffer, submitter=(bp.name.upper(), bp.submitter_etin),
        receiver_id=bp.receiver_id, control_numbers=ledger.control_numbers, now=now,
    )  # fmt: skip
    if not built.requests:
        raise ConfigError(f"claim {patient_control_number}: {built.skipped[0][1]}")
    trace = built.requests[0].trace_number
    ledger.record_status_request(
        StatusCheckRequest(trace, claim.id, patient_control_number, claim.payer_id, "realtime")
    )
    result = _send(ledger, workspace, transport, credentials, practice, CLAIM_STATUS, buffer, "277")
    result.traces = [trace]
    summary = process_acknowledgments(ledger, workspace)
    result.attention += summary.attention
    for check in ledger.status_checks(patient_control_number=patient_control_number):
        if check.trace_number == trace and check.summary:
            result.rows.append(dict(check.summary))
    return result


def _send(
    ledger: Ledger,
    workspace: Workspace,
    transport: RealtimeTransport,
    credentials: Credentials,
    practice: Practice,
    payload_type: str,
    buffer: io.StringIO,
    kind: str,
) -> RealtimeResult:
    """Exchange the payload, keep both envelopes and register the answer as a received file."""
    bp = practice.billing_provider
    done = exchange(
        transport, payload_type, buffer.getvalue(), sender_id=bp.submitter_etin,
        receiver_id=bp.receiver_id, credentials=credentials,
    )  # fmt: skip
    payload_id = done.request.payload_id
    keep = workspace.base / "edi" / "realtime"
    keep.mkdir(parents=True, exist_ok=True)
    masked = Credentials(credentials.username, "*" * 8)
    (keep / f"{payload_id}.request.xml").write_bytes(request_envelope(done.request, masked))
    (keep / f"{payload_id}.response.xml").write_bytes(done.received)
    folder = workspace.received_dir / "realtime"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{kind}_{payload_id}.x12"
    path.write_text(done.answer.payload, encoding="ascii", errors="replace")
    record = ledger.register_received(path, f"realtime/{path.name}")
    return RealtimeResult(kind, done, record, [])
