"""Real-time exchange with the clearinghouse: one CORE envelope out, its answer back (HTTPS).

    with HttpsCoreTransport(profile.realtime, credentials) as transport:
        answer = exchange(transport, "X12_270_Request_005010X279A1", x12, sender, receiver)
        answer.payload                                     # the 271

:class:`RealtimeTransport` is what callers depend on (``exchange(bytes) -> bytes``);
:class:`HttpsCoreTransport` is the real one (httpx, TLS verified against the pinned certificate
only, never ``verify=False``). Tests hand the command a transport through its public parameter.

Errors, each one line without PHI (the payload is never quoted):
:class:`~pipeline.errors.RealtimeTimeout` (transient: no answer within the time limit),
:class:`~pipeline.errors.UntrustedCertificate` (the server is not who the profile pins),
:class:`~pipeline.errors.AuthenticationFailed` (HTTP 401/403), and
:class:`~pipeline.errors.EnvelopeError` for a SOAP fault, a CORE error code, a PayloadID or
PayloadType that does not match the request, or a payload that is not X12.
"""

from __future__ import annotations

import ssl
import time
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Protocol

from pipeline.errors import (
    AuthenticationFailed,
    EnvelopeError,
    RealtimeTimeout,
    TransientTransportError,
    UntrustedCertificate,
)
from pipeline.transport.core import (
    RESPONSE_TYPES,
    SUCCESS,
    CoreMessage,
    Credentials,
    new_request,
    parse_envelope,
    request_envelope,
)

if TYPE_CHECKING:
    import httpx

    from pipeline.transport.profiles import RealtimeEndpoint

__all__ = ["Exchange", "HttpsCoreTransport", "RealtimeTransport", "exchange", "pinned_context"]

SOAP_CONTENT_TYPE = 'application/soap+xml; charset=utf-8; action="RealTimeTransaction"'


class RealtimeTransport(Protocol):
    """Posts one SOAP envelope and returns the answer's bytes (or raises a TransportError)."""

    @property
    def endpoint(self) -> str: ...

    def post(self, envelope: bytes) -> bytes: ...

    def close(self) -> None: ...


def pinned_context(certificate: Path) -> ssl.SSLContext:
    """TLS 1.2+ client context that trusts ``certificate`` (PEM) and nothing else."""
    if not certificate.is_file():
        raise UntrustedCertificate(f"pinned certificate {certificate} does not exist")
    context = ssl.create_default_context(purpose=ssl.Purpose.SERVER_AUTH, cafile=str(certificate))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class HttpsCoreTransport:
    """CORE real-time over HTTPS with httpx; the server certificate must chain to the pin."""

    def __init__(
        self,
        endpoint: RealtimeEndpoint,
        *,
        client: httpx.Client | None = None,
    ) -> None:
        import httpx

        self.url = endpoint.url
        self.timeout = endpoint.timeout_seconds
        self.certificate = endpoint.certificate
        self._client = client or httpx.Client(
            verify=pinned_context(endpoint.certificate),
            timeout=httpx.Timeout(self.timeout),
            follow_redirects=False,
        )

    @property
    def endpoint(self) -> str:
        return self.url

    def post(self, envelope: bytes) -> bytes:
        import httpx

        try:
            response = self._client.post(
                self.url, content=envelope, headers={"Content-Type": SOAP_CONTENT_TYPE}
            )
        except httpx.TimeoutException as exc:
            raise RealtimeTimeout(
                f"{self.url}: no answer within {self.timeout:g} s (CORE real-time limit)"
            ) from exc
        except httpx.ConnectError as exc:
            if _certificate_refused(exc):
                raise UntrustedCertificate(
                    f"{self.url}: the server's certificate is not the pinned one "
                    f"({self.certificate}); refused"
                ) from exc
            raise TransientTransportError(f"{self.url}: cannot connect ({_reason(exc)})") from exc
        except httpx.HTTPError as exc:
            raise TransientTransportError(f"{self.url}: {_reason(exc)}") from exc
        if response.status_code in (401, 403):
            raise AuthenticationFailed(
                f"{self.url}: real-time credentials refused (HTTP {response.status_code}); "
                "check CLAIMFLOW_REALTIME_USERNAME / CLAIMFLOW_REALTIME_PASSWORD"
            )
        if response.status_code >= 500 and not response.content:
            raise TransientTransportError(f"{self.url}: HTTP {response.status_code}")
        return response.content

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpsCoreTransport:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _certificate_refused(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return "CERTIFICATE_VERIFY_FAILED" in str(exc)


def _reason(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


class Exchange:
    """One request and its answer, with the bytes both ways and the round trip in seconds."""

    def __init__(
        self,
        request: CoreMessage,
        answer: CoreMessage,
        sent: bytes,
        received: bytes,
        seconds: float,
    ) -> None:
        self.request = request
        self.answer = answer
        self.sent = sent
        self.received = received
        self.seconds = seconds


def exchange(
    transport: RealtimeTransport,
    payload_type: str,
    payload: str,
    *,
    sender_id: str,
    receiver_id: str,
    credentials: Credentials,
) -> Exchange:
    """Send ``payload`` (an X12 interchange) in real time and return its checked answer."""
    request = new_request(payload_type, payload, sender_id=sender_id, receiver_id=receiver_id)
    sent = request_envelope(request, credentials)
    started = time.perf_counter()
    received = transport.post(sent)
    seconds = time.perf_counter() - started
    where = transport.endpoint
    answer, _ = parse_envelope(received, source=where)
    _check(answer, request, where)
    return Exchange(request, answer, sent, received, seconds)


def _check(answer: CoreMessage, request: CoreMessage, where: str) -> None:
    if answer.error_code and answer.error_code != SUCCESS:
        detail = f": {answer.error_message}" if answer.error_message else ""
        raise EnvelopeError(f"{where}: CORE error {answer.error_code}{detail}")
    if answer.payload_id != request.payload_id:
        raise EnvelopeError(
            f"{where}: answer PayloadID {answer.payload_id!r} is not the request's "
            f"{request.payload_id!r}"
        )
    expected = RESPONSE_TYPES[request.payload_type]
    if answer.payload_type != expected:
        raise EnvelopeError(f"{where}: answer PayloadType {answer.payload_type!r}, not {expected}")
    if not answer.payload.lstrip().startswith("ISA"):
        raise EnvelopeError(f"{where}: answer payload is not an X12 interchange")
