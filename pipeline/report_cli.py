"""``claimflow report --from D --to D``: the exports, letters and report for a period.

A month-end close: reconciliation as of the period's last day (remittances paid later and
claims sent later left out, so A/R is the balance at the close) and the activity dated inside
it. Reads the configured ledger and practice; writes under ``--out`` (default
``<home>/periods/<from>_<to>``), never over the nightly's own exports.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from pipeline.cli_types import DATE_METAVAR, parse_date

__all__ = ["report_app", "report_command"]

report_app = typer.Typer(help="Exports, letters and report for a period (month-end close).")


def _day(option: str, help_text: str) -> Any:
    return typer.Option(option, help=help_text, parser=parse_date, metavar=DATE_METAVAR)


def report_command(
    start: date | None, end: date | None, *, on: date | None = None, out: Path | None = None
) -> Path:
    """Reconcile the configured ledger for ``start``..``end``; returns the folder written."""
    from pipeline.ledger import Ledger
    from pipeline.lock import workspace_lock
    from pipeline.practice import load_practice
    from pipeline.reconcile.period import Period
    from pipeline.settings import get_settings
    from pipeline.steps.reconciling import reconcile_and_export
    from pipeline.steps.workspace import Workspace

    settings = get_settings()
    period = Period(start, end)
    workspace = Workspace.from_settings(settings)
    day = on or end or date.today()
    folder = out or workspace.base / "periods" / f"{start or 'start'}_{end or day}"
    # Reconciling records flags and cases in the ledger: never beside a running night.
    with workspace_lock(workspace.base), Ledger(workspace.ledger_url) as ledger:
        # Handed over, no reference kept here: reconciliation frees the encounters once read.
        reconcile_and_export(
            ledger,
            load_practice(Path(settings.practice_dir)).practice,
            workspace,
            on=day,
            period=period,
            out=folder,
        )
    return folder


@report_app.callback(invoke_without_command=True)
def report(
    start: Annotated[date | None, _day("--from", "First day of the period.")] = None,
    end: Annotated[date | None, _day("--to", "Last day of the period.")] = None,
    on: Annotated[date | None, _day("--date", "Business date (default: --to).")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Folder to write.")] = None,
) -> None:
    """Write exports/, letters/ and report.html for the period."""
    import sys

    from pipeline.errors import ClaimflowError, WorkspaceBusy

    try:
        folder = report_command(start, end, on=on, out=out)
    except WorkspaceBusy:
        raise  # main() says it: exit 1
    except ClaimflowError as exc:
        print(f"claimflow report: {exc}", file=sys.stderr)
        raise typer.Exit(2) from exc
    print(f"report and exports for {start or '…'} to {end or '…'}: {folder}")
