"""The captured real-time pair in ``sample_edi/realtime``: a CORE 270 request and its 271 answer.

Captured from the embedded clearinghouse over HTTPS (demo practice, synthetic people), the
request's WS-Security password masked. Re-capture after an intended change with
``.venv/bin/python -m tests.transport.test_realtime_samples`` (PayloadID and timestamps change).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pipeline.parse import parse_file
from pipeline.parse.t270 import read_270
from pipeline.transport.core import parse_envelope
from pipeline.x12.validate import validate_file

FOLDER = Path(__file__).resolve().parents[2] / "sample_edi" / "realtime"
REQUEST = FOLDER / "eligibility.request.xml"
RESPONSE = FOLDER / "eligibility.response.xml"


def test_the_pair_is_a_request_and_its_answer() -> None:
    request, credentials = parse_envelope(REQUEST.read_bytes())
    response, none = parse_envelope(RESPONSE.read_bytes())
    assert credentials is not None and set(credentials.password) == {"*"}
    assert none is None
    assert request.payload_type == "X12_270_Request_005010X279A1"
    assert response.payload_type == "X12_271_Response_005010X279A1"
    assert request.processing_mode == response.processing_mode == "RealTime"
    assert request.core_rule_version == response.core_rule_version == "2.2.0"
    assert response.payload_id == request.payload_id and response.error_code == "Success"
    assert (response.sender_id, response.receiver_id) == (request.receiver_id, request.sender_id)
    sent = dt.datetime.fromisoformat(request.timestamp.replace("Z", "+00:00"))
    answered = dt.datetime.fromisoformat(response.timestamp.replace("Z", "+00:00"))
    assert dt.timedelta(0) <= answered - sent < dt.timedelta(seconds=20)


def test_both_payloads_are_valid_x12_and_answer_each_other(tmp_path: Path) -> None:
    request, _ = parse_envelope(REQUEST.read_bytes())
    response, _ = parse_envelope(RESPONSE.read_bytes())
    (tmp_path / "request.270").write_text(request.payload, encoding="ascii")
    (tmp_path / "response.271").write_text(response.payload, encoding="ascii")
    for name in ("request.270", "response.271"):
        report = validate_file(tmp_path / name, jobs=1)
        assert report.status == "valid", [p.message for p in report.problems]
    asked = {i.trace_number for i in read_270(tmp_path / "request.270")}
    summary = parse_file(tmp_path / "response.271").tables["eligibility_summary"]
    assert set(summary["trace_number"]) == asked and len(asked) == 1


def capture() -> None:
    """Run one real exchange against the embedded clearinghouse and keep both envelopes."""
    import io
    import tempfile

    from pipeline.build.t270 import build_270
    from pipeline.clearinghouse import Clearinghouse
    from pipeline.practice import load_practice
    from pipeline.practice.model import Appointment
    from pipeline.transport.core import Credentials, request_envelope
    from pipeline.transport.profiles import RealtimeEndpoint
    from pipeline.transport.realtime import HttpsCoreTransport, exchange
    from tests.parse.x12build import Counter

    practice_dir = FOLDER.parent / "practice"
    practice = load_practice(practice_dir).practice
    visit = Appointment(
        appointment_id="RT1", patient_id="A0001", provider_id="", date=dt.date(2026, 11, 28)
    )
    x12 = io.StringIO()
    build_270(practice.model_copy(update={"appointments": [visit]}), x12, on=visit.date,
              control_numbers=Counter(9001), now=dt.datetime(2026, 11, 27, 14, 5))  # fmt: skip
    creds = Credentials("riverbend-clinic", "not-a-real-password")
    bp = practice.billing_provider
    with (
        tempfile.TemporaryDirectory() as scratch,
        Clearinghouse(Path(scratch), 7, practice=practice_dir, realtime=creds) as ch,
    ):
        endpoint = RealtimeEndpoint(url=ch.realtime_url, certificate=ch.realtime_certificate)
        with HttpsCoreTransport(endpoint) as transport:
            done = exchange(transport, "X12_270_Request_005010X279A1", x12.getvalue(),
                            sender_id=bp.submitter_etin, receiver_id=bp.receiver_id,
                            credentials=creds)  # fmt: skip
    FOLDER.mkdir(parents=True, exist_ok=True)
    masked = Credentials(creds.username, "*" * 8)
    REQUEST.write_bytes(request_envelope(done.request, masked))
    RESPONSE.write_bytes(done.received)
    print(f"captured {REQUEST.name} and {RESPONSE.name} ({done.seconds:.3f} s round trip)")


if __name__ == "__main__":
    capture()
