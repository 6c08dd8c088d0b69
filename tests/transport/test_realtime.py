"""Real-time eligibility and claim status over the real HTTP stack on loopback.

The embedded clearinghouse serves the CORE endpoint with starlette + uvicorn over TLS with a
certificate made for this run; the client is httpx with that certificate pinned. Failures
(timeout, wrong pin, wrong credentials, SOAP fault, bad payload, envelope errors) come from
real servers with fault switches, never from patched code.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.clearinghouse import Clearinghouse, read_ground_truth
from pipeline.clearinghouse.realtime import RealtimeFaults, RealtimeServer, core_app
from pipeline.clearinghouse.tls import make_certificate
from pipeline.cli_realtime import eligibility_check_command
from pipeline.errors import (
    AuthenticationFailed,
    EnvelopeError,
    RealtimeTimeout,
    UntrustedCertificate,
    WorkspaceBusy,
    is_transient,
)
from pipeline.ledger import Ledger
from pipeline.lock import workspace_lock
from pipeline.settings import ROOT, get_settings
from pipeline.transport.core import (
    CoreMessage,
    Credentials,
    new_request,
    parse_envelope,
    request_envelope,
)
from pipeline.transport.profiles import RealtimeEndpoint
from pipeline.transport.realtime import HttpsCoreTransport, exchange
from pipeline.x12.validate import validate_file

PRACTICE = ROOT / "sample_edi" / "practice"
CREDS = Credentials("clinic-7", "correct horse battery")
ON = dt.date(2026, 11, 28)
ACTIVE = "A0001"  # covered by CTS02 on ON
UNKNOWN = "A0031"  # the member seed 7 makes unknown to its payer (AAA*N**75)


@pytest.fixture(scope="module")
def ch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clearinghouse]:
    root = tmp_path_factory.mktemp("realtime") / "clearinghouse"
    with Clearinghouse(root, 7, practice=PRACTICE, realtime=CREDS) as running:
        yield running


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Settings for one check: its own ledger, the demo practice, the real-time credentials."""
    monkeypatch.setenv("CLAIMFLOW_HOME", str(tmp_path))
    monkeypatch.delenv("CLAIMFLOW_DATABASE_URL", raising=False)
    monkeypatch.setenv("CLAIMFLOW_PRACTICE_DIR", str(PRACTICE))
    monkeypatch.setenv("CLAIMFLOW_REALTIME_USERNAME", CREDS.username)
    monkeypatch.setenv("CLAIMFLOW_REALTIME_PASSWORD", CREDS.password)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def _endpoint(url: str, certificate: Path, timeout: float = 20) -> RealtimeEndpoint:
    return RealtimeEndpoint(url=url, certificate=certificate, timeout_seconds=timeout)


def _transport(ch: Clearinghouse, **kw: float) -> HttpsCoreTransport:
    return HttpsCoreTransport(_endpoint(ch.realtime_url, ch.realtime_certificate, **kw))


@pytest.fixture
def faulty(ch: Clearinghouse, request: pytest.FixtureRequest) -> Iterator[RealtimeServer]:
    """A second real endpoint (same responder, same certificate) with a fault switched on."""
    faults: RealtimeFaults = request.param
    keys = ch.root / "keys"
    app = core_app(ch.respond_realtime, CREDS, faults)
    server = RealtimeServer(app, keys / "realtime_cert.pem", keys / "realtime_key.pem").start()
    yield server
    server.stop()


def _270(ch: Clearinghouse) -> str:
    """A valid 270 for the active patient, built by the project's builder."""
    from pipeline.build.t270 import build_270
    from pipeline.practice import load_practice
    from pipeline.practice.model import Appointment
    from tests.parse.x12build import Counter

    practice = load_practice(PRACTICE).practice
    visit = Appointment(appointment_id="X", patient_id=ACTIVE, provider_id="", date=ON)
    out = io.StringIO()
    build_270(
        practice.model_copy(update={"appointments": [visit]}), out, on=ON,
        control_numbers=Counter(900), now=dt.datetime(2026, 11, 27, 9, 0),
    )  # fmt: skip
    return out.getvalue()


# -- the whole check, as `claimflow eligibility check` does it --------------------------------


def test_eligibility_check_answers_stores_and_shows_the_271(ch: Clearinghouse, home: Path) -> None:
    out = io.StringIO()
    started = time.perf_counter()
    with _transport(ch) as transport:
        code = eligibility_check_command(ACTIVE, on=ON, transport=transport, stdout=out)
    elapsed = time.perf_counter() - started
    shown = out.getvalue()
    assert code == 0, shown
    assert "CONTOSO COMMERCIAL" in shown and "active" in shown and "out of network" in shown
    round_trip = float(re.search(r"answered in ([0-9.]+) s", shown).group(1))  # type: ignore[union-attr]
    assert 0 < round_trip < elapsed < 20
    with Ledger(f"sqlite:///{home / 'ledger.db'}") as ledger:
        (check,) = ledger.eligibility_checks(patient_id=ACTIVE)
        received = ledger.file(check.response_file_id or 0)
    assert check.coverage_status == "active" and check.service_date == ON
    # The simulator's own record of what it answered, by the trace the ledger sent.
    truth = [
        r
        for r in read_ground_truth(ch.root, "eligibility")
        if r["trace_number"] == check.trace_number
    ]
    assert [r["coverage_status"] for r in truth] == ["active"]
    assert truth[0]["source_file"].startswith("realtime/")
    assert received.names[0].startswith("realtime/271_") and received.state.value == "posted"
    assert validate_file(Path(received.local_path or "")).status == "valid"
    # Both envelopes are kept; the request without its password.
    kept = sorted((home / "edi" / "realtime").iterdir())
    request_xml = next(p for p in kept if p.name.endswith(".request.xml")).read_bytes()
    assert CREDS.password.encode() not in request_xml and b"********" in request_xml
    message, _ = parse_envelope(request_xml)
    assert message.payload_type == "X12_270_Request_005010X279A1"
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
                        message.payload_id)  # fmt: skip


def test_an_unknown_member_is_shown_rejected_and_exits_1(ch: Clearinghouse, home: Path) -> None:
    out = io.StringIO()
    with _transport(ch) as transport:
        code = eligibility_check_command(UNKNOWN, on=ON, transport=transport, stdout=out)
    assert code == 1
    assert "rejected" in out.getvalue()
    with Ledger(f"sqlite:///{home / 'ledger.db'}") as ledger:
        (check,) = ledger.eligibility_checks(patient_id=UNKNOWN)
    assert check.coverage_status == "rejected" and check.summary is not None
    assert check.summary["reject_reason_code"] == "75"


def test_a_check_beside_a_running_night_is_refused_touching_nothing(
    ch: Clearinghouse, home: Path
) -> None:
    """The answer moves ledger rows, so it waits for the night's workspace lock like a run."""
    held, done = threading.Event(), threading.Event()

    def night() -> None:
        with workspace_lock(home):
            held.set()
            done.wait(30)

    thread = threading.Thread(target=night)
    thread.start()
    try:
        assert held.wait(30)
        with _transport(ch) as transport, pytest.raises(WorkspaceBusy, match="another claimflow"):
            eligibility_check_command(ACTIVE, on=ON, transport=transport, stdout=io.StringIO())
    finally:
        done.set()
        thread.join()
    assert not (home / "ledger.db").exists()


# -- the exchange and its failures ------------------------------------------------------------


def test_exchange_echoes_the_payload_id_with_the_271_type(ch: Clearinghouse) -> None:
    with _transport(ch) as transport:
        done = exchange(transport, "X12_270_Request_005010X279A1", _270(ch), sender_id="S",
                        receiver_id="R", credentials=CREDS)  # fmt: skip
    assert done.answer.payload_id == done.request.payload_id
    assert done.answer.payload_type == "X12_271_Response_005010X279A1"
    assert done.answer.error_code == "Success" and done.answer.sender_id == "R"
    assert done.answer.payload.startswith("ISA") and "ST*271*" in done.answer.payload


def test_wrong_pinned_certificate_is_refused(ch: Clearinghouse, tmp_path: Path) -> None:
    other = make_certificate(tmp_path / "other.pem", tmp_path / "other.key")
    endpoint = _endpoint(ch.realtime_url, other.certificate)
    with HttpsCoreTransport(endpoint) as transport, pytest.raises(UntrustedCertificate) as err:
        exchange(transport, "X12_270_Request_005010X279A1", _270(ch), sender_id="S",
                 receiver_id="R", credentials=CREDS)  # fmt: skip
    assert "not the pinned one" in str(err.value) and str(other.certificate) in str(err.value)
    assert not is_transient(err.value) and "\n" not in str(err.value)


def test_wrong_credentials_are_refused(ch: Clearinghouse) -> None:
    with _transport(ch) as transport, pytest.raises(AuthenticationFailed, match="HTTP 401"):
        exchange(transport, "X12_270_Request_005010X279A1", _270(ch), sender_id="S",
                 receiver_id="R", credentials=Credentials(CREDS.username, "wrong"))  # fmt: skip


@pytest.mark.parametrize("faulty", [RealtimeFaults(delay_seconds=3)], indirect=True)
def test_no_answer_in_time_is_a_transient_timeout(
    ch: Clearinghouse, faulty: RealtimeServer
) -> None:
    endpoint = _endpoint(faulty.url, ch.realtime_certificate, timeout=1)
    started = time.perf_counter()
    with HttpsCoreTransport(endpoint) as transport, pytest.raises(RealtimeTimeout) as err:
        exchange(transport, "X12_270_Request_005010X279A1", _270(ch), sender_id="S",
                 receiver_id="R", credentials=CREDS)  # fmt: skip
    assert time.perf_counter() - started < 2.5
    assert is_transient(err.value) and "no answer within 1 s" in str(err.value)


@pytest.mark.parametrize("faulty", [RealtimeFaults(soap_fault=True)], indirect=True)
def test_a_soap_fault_is_one_line(ch: Clearinghouse, faulty: RealtimeServer) -> None:
    endpoint = _endpoint(faulty.url, ch.realtime_certificate)
    with HttpsCoreTransport(endpoint) as transport, pytest.raises(EnvelopeError) as err:
        exchange(transport, "X12_270_Request_005010X279A1", _270(ch), sender_id="S",
                 receiver_id="R", credentials=CREDS)  # fmt: skip
    assert str(err.value) == f"{faulty.url}: SOAP fault: Receiver: payer system unavailable"


@pytest.mark.parametrize("faulty", [RealtimeFaults(garbled_payload=True)], indirect=True)
def test_a_payload_that_is_not_x12_is_refused(ch: Clearinghouse, faulty: RealtimeServer) -> None:
    endpoint = _endpoint(faulty.url, ch.realtime_certificate)
    with (
        HttpsCoreTransport(endpoint) as transport,
        pytest.raises(EnvelopeError, match="not an X12"),
    ):
        exchange(transport, "X12_270_Request_005010X279A1", _270(ch), sender_id="S",
                 receiver_id="R", credentials=CREDS)  # fmt: skip


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"processing_mode": "Batch"}, "ProcessingModeNotSupported"),
        ({"payload_type": "X12_837_Request_005010X222A1"}, "PayloadTypeNotSupported"),
        ({"core_rule_version": "2.1.0"}, "VersionMismatch"),
        ({"payload": "ISA*garbage~"}, "PayloadInvalid"),
        ({"payload_type": "X12_276_Request_005010X212"}, "PayloadInvalid"),  # a 270 inside
    ],
)
def test_envelope_errors_come_back_as_core_error_codes(
    ch: Clearinghouse, change: dict[str, str], code: str
) -> None:
    from dataclasses import replace

    base = new_request("X12_270_Request_005010X279A1", _270(ch), sender_id="S", receiver_id="R")
    message: CoreMessage = replace(base, **change)
    with _transport(ch) as transport:
        answer, _ = parse_envelope(transport.post(request_envelope(message, CREDS)))
    assert answer.error_code == code and answer.payload_type == "CoreEnvelopeError"
    assert answer.payload_id == base.payload_id and answer.error_message


def test_not_an_envelope_gets_a_sender_fault(ch: Clearinghouse) -> None:
    with _transport(ch) as transport, pytest.raises(EnvelopeError) as err:
        parse_envelope(transport.post(b"ISA*00*not soap at all"), source="answer")
    assert "SOAP fault: Sender: not an XML envelope" in str(err.value)


def test_clearinghouse_serve_offers_real_time_and_writes_a_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import stat
    import threading

    from pipeline.clearinghouse.commands import serve_command
    from pipeline.transport import load_profile

    for key in ("CLAIMFLOW_REALTIME_USERNAME", "CLAIMFLOW_REALTIME_PASSWORD"):
        monkeypatch.delenv(key, raising=False)
    get_settings.cache_clear()
    out = io.StringIO()
    done: list[int] = []
    root = tmp_path / "sim"
    thread = threading.Thread(
        target=lambda: done.append(serve_command(root, port=0, seed=7, stdout=out, run_for=0.5))
    )
    thread.start()
    thread.join(30)
    get_settings.cache_clear()
    assert done == [0]
    text = out.getvalue()
    assert re.search(r"real time \(CORE SOAP 1\.2\): https://127\.0\.0\.1:\d+/core/realtime", text)
    password = root / "keys" / "realtime_password"
    assert stat.S_IMODE(password.stat().st_mode) == 0o600
    assert password.read_text().strip() not in text  # printed nowhere
    profile = load_profile(root / "profile.yaml")
    assert profile.realtime is not None and profile.realtime.url.startswith("https://127.0.0.1:")
    assert profile.realtime.certificate == root / "keys" / "realtime_cert.pem"
    assert profile.realtime.timeout_seconds == 20


def test_profile_realtime_block_is_https_and_resolves_its_certificate(tmp_path: Path) -> None:
    from pipeline.errors import ConfigError
    from pipeline.transport import load_profile

    source = (ROOT / "mappings" / "clearinghouses" / "embedded.yaml").read_text()
    good = tmp_path / "rt.yaml"
    good.write_text(
        source + "realtime:\n  url: https://ch.example/core\n  certificate: keys/ch.pem\n"
    )
    profile = load_profile(good, base_dir=tmp_path / "home", port=2222)
    assert profile.realtime is not None
    assert profile.realtime.certificate == tmp_path / "home" / "keys" / "ch.pem"
    bad = tmp_path / "plain.yaml"
    bad.write_text(source + "realtime:\n  url: http://ch.example/core\n  certificate: c.pem\n")
    with pytest.raises(ConfigError, match=r"realtime\.url: .*https://"):
        load_profile(bad, base_dir=tmp_path, port=2222)
