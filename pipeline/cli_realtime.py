"""``claimflow eligibility check`` and ``claimflow claim-status check``: one request, answered now.

Both talk to the configured clearinghouse's real-time endpoint (``realtime:`` in its profile:
CAQH CORE SOAP over HTTPS, server certificate pinned) with the credentials in
``CLAIMFLOW_REALTIME_USERNAME`` / ``CLAIMFLOW_REALTIME_PASSWORD``, store the answer in the ledger
like a batch answer and show it. Only Typer is imported here; the rest loads when a command
runs, so ``claimflow --help`` stays fast. Exit 0 when the answer is good news (coverage active /
the payer has the claim), 1 otherwise, 2 for an error (one line on stderr: timeout, SOAP fault,
refused certificate or credentials, bad payload).
"""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer

from pipeline.cli_types import DATE_METAVAR, parse_date

if TYPE_CHECKING:
    from pipeline.settings import Settings
    from pipeline.steps.realtime import RealtimeResult
    from pipeline.transport.core import Credentials
    from pipeline.transport.realtime import RealtimeTransport

__all__ = [
    "add_realtime_commands",
    "claim_status_app",
    "claim_status_check_command",
    "eligibility_app",
    "eligibility_check_command",
]

Profile = Annotated[
    str | None,
    typer.Option(
        "--clearinghouse",
        help="Clearinghouse profile: a name or a YAML file (default: CLAIMFLOW_CLEARINGHOUSE).",
        metavar="NAME|FILE",
        show_default=False,
    ),
]

eligibility_app = typer.Typer(
    help="Real-time eligibility: a 270 answered by its 271 (CORE endpoint).", no_args_is_help=True
)
claim_status_app = typer.Typer(
    help="Claim status: a 276 answered by its 277 (CORE endpoint).", no_args_is_help=True
)


def add_realtime_commands(app: typer.Typer) -> None:
    """Register ``eligibility`` and ``claim-status`` on the main ``claimflow`` app."""
    app.add_typer(eligibility_app, name="eligibility")
    app.add_typer(claim_status_app, name="claim-status")


@eligibility_app.command("check")
def eligibility_check(
    patient: Annotated[str, typer.Argument(help="Patient id in the practice export.")],
    on: Annotated[
        date | None,
        typer.Option(
            "--date",
            help="Date of service; default today.",
            parser=parse_date,
            metavar=DATE_METAVAR,
        ),
    ] = None,
    practice: Annotated[
        Path | None, typer.Option("--practice", help="Practice export folder (default: settings).")
    ] = None,
    clearinghouse: Profile = None,
) -> None:
    """Ask the payer now whether PATIENT is covered on a date; store and show the 271."""
    day = on or date.today()
    raise typer.Exit(
        eligibility_check_command(
            patient, on=day, practice_dir=practice, clearinghouse=clearinghouse
        )
    )


@claim_status_app.command("check")
def claim_status_check(
    pcn: Annotated[str, typer.Argument(help="Patient control number (CLM01) of a sent claim.")],
    practice: Annotated[
        Path | None, typer.Option("--practice", help="Practice export folder (default: settings).")
    ] = None,
    clearinghouse: Profile = None,
) -> None:
    """Ask the payer now what became of one claim; store the 277, move the claim, show it."""
    raise typer.Exit(
        claim_status_check_command(pcn, practice_dir=practice, clearinghouse=clearinghouse)
    )


def eligibility_check_command(
    patient: str,
    *,
    on: date,
    practice_dir: Path | None = None,
    clearinghouse: str | None = None,
    transport: RealtimeTransport | None = None,
    stdout: TextIO | None = None,
    now: datetime | None = None,
) -> int:
    """``now`` stamps the request (default: the clock); tests pass a business time."""
    from pipeline.steps.realtime import check_eligibility

    def run(parts: _Parts) -> RealtimeResult:
        return check_eligibility(
            parts.ledger, parts.practice, parts.workspace, parts.transport, parts.credentials,
            patient_id=patient, on=on, now=now,
        )  # fmt: skip

    result, practice = _run(run, practice_dir, transport, clearinghouse)
    _show_eligibility(result, practice, stdout or sys.stdout)
    good = bool(result.rows) and all(r.get("coverage_status") == "active" for r in result.rows)
    return 0 if good else 1


def claim_status_check_command(
    pcn: str,
    *,
    practice_dir: Path | None = None,
    clearinghouse: str | None = None,
    transport: RealtimeTransport | None = None,
    stdout: TextIO | None = None,
    now: datetime | None = None,
) -> int:
    """``now`` stamps the request (default: the clock); the payer answers as of that day."""
    from pipeline.steps.realtime import check_claim_status

    def run(parts: _Parts) -> RealtimeResult:
        return check_claim_status(
            parts.ledger, parts.practice, parts.workspace, parts.transport, parts.credentials,
            patient_control_number=pcn, now=now,
        )  # fmt: skip

    result, _ = _run(run, practice_dir, transport, clearinghouse)
    _show_status(result, stdout or sys.stdout)
    bad = {"not_found", "rejected", "error", "unknown"}
    return 0 if result.rows and not bad & {str(r.get("status")) for r in result.rows} else 1


# -- the parts a check needs ----------------------------------------------------------------


class _Parts:
    def __init__(self, ledger: Any, practice: Any, workspace: Any, transport: Any, creds: Any):
        self.ledger = ledger
        self.practice = practice
        self.workspace = workspace
        self.transport = transport
        self.credentials: Credentials = creds


def _run(
    check: Any,
    practice_dir: Path | None,
    transport: RealtimeTransport | None,
    clearinghouse: str | None = None,
) -> tuple[RealtimeResult, Any]:
    from pipeline.errors import ConfigError
    from pipeline.ledger import Ledger
    from pipeline.lock import workspace_lock
    from pipeline.practice import load_practice
    from pipeline.settings import get_settings
    from pipeline.steps.workspace import Workspace
    from pipeline.transport import load_profile
    from pipeline.transport.realtime import HttpsCoreTransport

    settings = get_settings()
    credentials = _credentials(settings)
    own = transport is None
    if transport is None:
        profile = load_profile(clearinghouse or settings.clearinghouse)
        if profile.realtime is None:
            raise ConfigError(
                f"clearinghouse {profile.name}: no real-time endpoint (add realtime: url and "
                "certificate to its profile)"
            )
        transport = HttpsCoreTransport(profile.realtime)
    practice = load_practice(practice_dir or settings.practice_dir).practice
    workspace = Workspace.from_settings(settings).ensure()
    try:  # the answer moves ledger rows: never beside a running night
        with workspace_lock(workspace.base), Ledger(workspace.ledger_url) as ledger:
            result = check(_Parts(ledger, practice, workspace, transport, credentials))
    finally:
        if own:
            transport.close()
    return result, practice


def _credentials(settings: Settings) -> Credentials:
    from pipeline.errors import ConfigError
    from pipeline.transport.core import Credentials

    if not settings.realtime_username or settings.realtime_password is None:
        raise ConfigError(
            "real-time credentials missing: set CLAIMFLOW_REALTIME_USERNAME and "
            "CLAIMFLOW_REALTIME_PASSWORD"
        )
    return Credentials(settings.realtime_username, settings.realtime_password.get_secret_value())


# -- showing the answer ---------------------------------------------------------------------


def _money(value: Any) -> str:
    from decimal import Decimal, InvalidOperation

    if value in (None, ""):
        return "-"
    try:
        return f"${Decimal(str(value)):,.2f}"
    except InvalidOperation:
        return str(value)


def _percent(value: Any) -> str:
    from decimal import Decimal

    return "-" if value in (None, "") else f"{(Decimal(str(value)) * 100).normalize():f}%"


def _pair(row: dict[str, Any], key: str, show: Any) -> str:
    return f"{show(row.get(f'in_network_{key}'))} / {show(row.get(f'out_of_network_{key}'))}"


def _show_eligibility(result: RealtimeResult, practice: Any, out: TextIO) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Eligibility (271)", title_justify="left")
    for column in ("payer", "coverage", "network", "deductible left in/out",
                   "out-of-pocket left in/out", "office copay", "coinsurance in/out",
                   "prior auth"):  # fmt: skip
        table.add_column(column)
    for row in result.rows:
        status = str(row.get("coverage_status") or "")
        if status == "rejected":
            status = f"rejected: {row.get('reject_reason') or row.get('reject_reason_code')}"
        payer = practice.payers.get(str(row.get("payer_id") or ""))
        network = str(payer.network_status).replace("_", " ") if payer is not None else "-"
        table.add_row(
            str(row.get("payer_name") or row.get("payer_id") or "-"), status, network,
            _pair(row, "deductible_remaining", _money), _pair(row, "oop_remaining", _money),
            _money(row.get("office_visit_copay")), _pair(row, "coinsurance", _percent),
            "required" if row.get("prior_auth_required") else "no",
        )  # fmt: skip
    console = Console(file=out, width=140)
    console.print(table)
    _footer(console, result)


def _show_status(result: RealtimeResult, out: TextIO) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Claim status (277)", title_justify="left")
    for column in ("claim", "status", "payer says", "charge", "paid", "paid on", "check/EFT",
                   "payer claim no."):  # fmt: skip
        table.add_column(column)
    for row in result.rows:
        code = ":".join(str(row.get(k) or "") for k in ("status_category", "status_code"))
        table.add_row(
            str(row.get("patient_control_number") or "-"), str(row.get("status") or "-"),
            f"{code} {row.get('status_text') or ''}".strip(), _money(row.get("charge_amount")),
            _money(row.get("paid_amount")), str(row.get("payment_date") or "-"),
            str(row.get("check_number") or "-"), str(row.get("payer_claim_control_number") or "-"),
        )  # fmt: skip
    console = Console(file=out, width=140)
    console.print(table)
    _footer(console, result)


def _footer(console: Any, result: RealtimeResult) -> None:
    done = result.exchange
    console.print(
        f"answered in {done.seconds:.2f} s by {done.answer.sender_id or 'the clearinghouse'} "
        f"(PayloadID {done.request.payload_id}); stored as ledger file {result.file.id}"
    )
    if not result.rows:
        console.print("the answer held nothing for this request")
    for line in result.attention:
        console.print(f"[yellow]attention:[/] {line}")
