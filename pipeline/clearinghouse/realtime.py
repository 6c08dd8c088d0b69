"""The simulator's real-time endpoint: CORE SOAP 1.2 over HTTPS (starlette app, uvicorn server).

``POST /core/realtime`` takes a ``COREEnvelopeRealTimeRequest`` (see
:mod:`pipeline.transport.core`) and answers synchronously with the same responder logic the
batch files get (:meth:`Responder.respond_realtime`): a 270 gets its 271, a 276 its 277.

- not a CORE SOAP envelope -> HTTP 400 with a SOAP Fault (``Sender``);
- no or wrong WS-Security UsernameToken -> HTTP 401 with a SOAP Fault;
- envelope metadata the endpoint does not take (ProcessingMode, PayloadType, CORERuleVersion)
  or a payload it cannot read -> HTTP 200, ``PayloadType CoreEnvelopeError`` with the CORE
  ``ErrorCode`` (``ProcessingModeNotSupported``, ``PayloadTypeNotSupported``,
  ``VersionMismatch``, ``PayloadInvalid``) and a one-line ``ErrorMessage``;
- an answer is never cached: every request is answered afresh.

Fault switches (:class:`RealtimeFaults`) make the failures a client must survive: an answer
that comes too late (``delay_seconds``), a SOAP fault instead of an answer, a payload that is
not X12. :class:`RealtimeServer` runs the app with uvicorn on 127.0.0.1 in a thread, TLS with
the certificate from :mod:`.tls`.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.errors import ClaimflowError, EnvelopeError
from pipeline.transport.core import (
    CORE_RULE_VERSION,
    RESPONSE_TYPES,
    CoreMessage,
    Credentials,
    fault_envelope,
    parse_envelope,
    response_envelope,
)

if TYPE_CHECKING:
    from starlette.responses import Response

__all__ = ["PATH", "RealtimeFaults", "RealtimeServer", "core_app"]

log = logging.getLogger(__name__)

PATH = "/core/realtime"
SOAP_TYPE = "application/soap+xml; charset=utf-8"

Answer = Callable[[bytes, str], tuple[str, str]]
"""(X12 payload, PayloadID) -> (answer kind ``271``/``277``, the answer's X12 text)."""


@dataclass(frozen=True, slots=True)
class RealtimeFaults:
    delay_seconds: float = 0.0
    """Wait this long before answering (a client with a shorter limit times out)."""
    soap_fault: bool = False
    """Answer every request with a SOAP Fault (Receiver)."""
    garbled_payload: bool = False
    """Answer with ErrorCode Success but a payload that is not X12."""


def core_app(answer: Answer, credentials: Credentials, faults: RealtimeFaults | None = None) -> Any:
    """The ASGI app: one route, ``POST /core/realtime``."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.routing import Route

    switches = faults or RealtimeFaults()

    async def realtime(request: Request) -> Response:
        import anyio

        if switches.delay_seconds:
            await anyio.sleep(switches.delay_seconds)
        if switches.soap_fault:
            return _soap(fault_envelope("Receiver", "payer system unavailable"), 500)
        try:
            message, given = parse_envelope(await request.body(), source="request")
        except EnvelopeError as exc:
            return _soap(fault_envelope("Sender", _after_source(exc)), 400)
        if given is None or not _same(given, credentials):
            return _soap(fault_envelope("Sender", "UnAuthorized: credentials refused"), 401)
        reply = await _reply(message, answer)
        if switches.garbled_payload and not reply.error_code.startswith("Payload"):
            reply = message.answer("<html>temporarily unavailable</html>")
        return _soap(response_envelope(reply), 200)

    return Starlette(routes=[Route(PATH, realtime, methods=["POST"])])


async def _reply(message: CoreMessage, answer: Answer) -> CoreMessage:
    """The CORE response: the responder's answer, or the envelope error code."""
    from starlette.concurrency import run_in_threadpool

    problem = _metadata_problem(message)
    if problem is not None:
        return message.answer("", error_code=problem[0], error_message=problem[1])
    try:
        kind, text = await run_in_threadpool(
            answer, message.payload.encode("ascii", "replace"), message.payload_id
        )
    except ClaimflowError as exc:
        return message.answer("", error_code="PayloadInvalid", error_message=_after_source(exc))
    expected = RESPONSE_TYPES[message.payload_type].split("_")[1]  # "271" / "277"
    if kind != expected:
        why = f"payload answered with a {kind}, PayloadType {message.payload_type} wants {expected}"
        return message.answer("", error_code="PayloadInvalid", error_message=why)
    return message.answer(text)


def _soap(body: bytes, status: int) -> Response:
    from starlette.responses import Response

    return Response(body, status_code=status, media_type=SOAP_TYPE)


def _same(given: Credentials, expected: Credentials) -> bool:
    user = hmac.compare_digest(given.username.encode(), expected.username.encode())
    word = hmac.compare_digest(given.password.encode(), expected.password.encode())
    return user and word


def _metadata_problem(message: CoreMessage) -> tuple[str, str] | None:
    if message.processing_mode != "RealTime":
        return "ProcessingModeNotSupported", f"ProcessingMode {message.processing_mode!r}"
    if message.payload_type not in RESPONSE_TYPES:
        return "PayloadTypeNotSupported", f"PayloadType {message.payload_type!r}"
    if message.core_rule_version != CORE_RULE_VERSION:
        return "VersionMismatch", f"CORERuleVersion {message.core_rule_version!r}"
    return None


def _after_source(exc: BaseException) -> str:
    """The problem without the server-side path it names (the client has its own)."""
    text = " ".join(str(exc).split())
    return text.split(": ", 1)[-1] if ": " in text else text


class RealtimeServer:
    """uvicorn serving :func:`core_app` over TLS on 127.0.0.1 (port 0 = any free), in a thread."""

    def __init__(self, app: Any, certificate: Path, key: Path, port: int = 0) -> None:
        import uvicorn

        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, ssl_certfile=str(certificate),
            ssl_keyfile=str(key), log_level="warning", access_log=False, lifespan="off",
            timeout_graceful_shutdown=1,  # a request held by the delay fault must not block stop
        )  # fmt: skip
        self.server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    def start(self, timeout: float = 10.0) -> RealtimeServer:
        self._thread = threading.Thread(target=self.server.run, name="core-realtime", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the real-time endpoint did not start")
            time.sleep(0.01)
        return self

    @property
    def port(self) -> int:
        sockets = self.server.servers[0].sockets
        return int(sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}{PATH}"

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
