"""One exception tree for claimflow.

Every error says whether retrying can help (``transient``) and carries a one-line
message that names the file, the position and the problem, so the CLI and the
flows can report it without a traceback::

    ClaimflowError                      terminal unless marked otherwise
    ├── ConfigError                     bad settings, profile or mapping file
    ├── X12Error
    │   ├── X12SyntaxError              not X12, cut short, bad ISA (file + position)
    │   └── X12WriteError               a value the writer refuses (names the field)
    ├── PracticeDataError               practice export unusable as a whole
    ├── ReconcileInputError             a reconciliation input table lacks columns / bad value
    ├── WorkspaceBusy                   another run holds the workspace lock (one night at a time)
    ├── LedgerError
    │   ├── IllegalTransition           claim (or file) state change the lifecycle forbids
    │   ├── DuplicateFileError          the same bytes were registered before
    │   └── LedgerUnavailable           (transient) database locked, busy or unreachable
    └── TransportError
        ├── TransientTransportError     (transient) dropped link, timeout, server busy
        │   └── RealtimeTimeout         (transient) no real-time answer within the CORE limit
        └── TerminalTransportError
            ├── AuthenticationFailed    key (or real-time credentials) refused
            ├── UnknownHostKey          host key not pinned in known_hosts
            ├── UntrustedCertificate    HTTPS server certificate is not the pinned one
            ├── EnvelopeError           CORE envelope: SOAP fault, error code, bad payload
            └── UnsafeRemoteName        ``../``, absolute path or control characters

``TransientError`` is a mixin: ``isinstance(exc, TransientError)`` is the one
test the retry logic uses.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationFailed",
    "ClaimflowError",
    "ConfigError",
    "DuplicateFileError",
    "EnvelopeError",
    "IllegalTransition",
    "LedgerError",
    "LedgerUnavailable",
    "PracticeDataError",
    "RealtimeTimeout",
    "ReconcileInputError",
    "TerminalTransportError",
    "TransientError",
    "TransientTransportError",
    "TransportError",
    "UnknownHostKey",
    "UnsafeRemoteName",
    "UntrustedCertificate",
    "WorkspaceBusy",
    "X12Error",
    "X12SyntaxError",
    "X12WriteError",
    "is_transient",
]


class ClaimflowError(Exception):
    """Base of every error claimflow raises on purpose."""

    transient: bool = False


class TransientError(ClaimflowError):
    """Mixin: the same call may succeed later (retry with backoff)."""

    transient = True


class ConfigError(ClaimflowError):
    """Settings, a profile or a mapping file is missing or wrong."""


class X12Error(ClaimflowError):
    """Problems reading or writing X12."""


class X12SyntaxError(X12Error):
    """Input is not X12, is cut short, or breaks the envelope syntax.

    ``str(exc)`` is ``"<file>: segment <n> (byte <offset>): <problem>"``.
    """

    def __init__(
        self,
        problem: str,
        *,
        source: str = "<input>",
        segment_number: int | None = None,
        offset: int | None = None,
    ) -> None:
        self.problem = problem
        self.source = source
        self.segment_number = segment_number
        self.offset = offset
        where = []
        if segment_number is not None:
            where.append(f"segment {segment_number}")
        if offset is not None:
            where.append(f"byte {offset}")
        position = f" {', '.join(where)}" if where else ""
        super().__init__(f"{source}:{position}: {problem}" if position else f"{source}: {problem}")


class X12WriteError(X12Error):
    """The writer refuses a value (it names the field, e.g. ``NM103``)."""


class PracticeDataError(ClaimflowError):
    """A practice export cannot be used at all (missing file, unknown columns)."""


class ReconcileInputError(ClaimflowError):
    """A table handed to reconciliation lacks a required column or holds a bad value."""


class WorkspaceBusy(ClaimflowError):
    """Another claimflow run holds the workspace (``pipeline.lock``): this one must not start."""


class LedgerError(ClaimflowError):
    """Claims ledger problems."""


class IllegalTransition(LedgerError):
    """A claim state change that the lifecycle does not allow."""


class DuplicateFileError(LedgerError):
    """The same bytes were registered before (under any name)."""


class LedgerUnavailable(LedgerError, TransientError):
    """The ledger database is locked, busy or unreachable: retry with backoff."""


class TransportError(ClaimflowError):
    """File exchange with the clearinghouse failed."""


class TransientTransportError(TransportError, TransientError):
    """Dropped connection, timeout, server busy: retry with backoff."""


class TerminalTransportError(TransportError):
    """Retrying will not help until a person changes something."""


class AuthenticationFailed(TerminalTransportError):
    """The server refused our key or user."""


class UnknownHostKey(TerminalTransportError):
    """The server's host key is not pinned in our known_hosts file."""


class RealtimeTimeout(TransientTransportError):
    """A real-time (CORE) request got no answer within its time limit."""


class UntrustedCertificate(TerminalTransportError):
    """The HTTPS server's certificate is not the one pinned in the profile."""


class EnvelopeError(TerminalTransportError):
    """A CORE envelope that is a SOAP fault, carries an error code or a payload we cannot use."""


class UnsafeRemoteName(TerminalTransportError):
    """A remote file name that must never become a local path."""


def is_transient(exc: BaseException) -> bool:
    """True when retrying ``exc`` may succeed."""
    return isinstance(exc, ClaimflowError) and exc.transient
