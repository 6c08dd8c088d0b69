"""The ``claimflow`` command.

Only Typer is imported here; each command imports what it needs (pandas, pyx12,
Prefect) when it runs, so ``claimflow --help`` stays fast. Every command returns
an exit code; any :class:`~pipeline.errors.ClaimflowError` becomes one line on
stderr and exit 2, never a traceback.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cases_cli import register as register_case_commands
from pipeline.cli_realtime import add_realtime_commands
from pipeline.errors import ClaimflowError
from pipeline.report_cli import report_app

__all__ = ["app", "main"]

app = typer.Typer(
    name="claimflow",
    help="EDI X12 5010 pipeline: 270/837P out; 271, TA1, 999, 277CA, 835 in; reconciliation.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
build_app = typer.Typer(help="Build X12 files from practice data.", no_args_is_help=True)
clearinghouse_app = typer.Typer(help="The embedded clearinghouse simulator.", no_args_is_help=True)
app.add_typer(build_app, name="build")
app.add_typer(clearinghouse_app, name="clearinghouse")
app.add_typer(report_app, name="report")  # pipeline/report_cli.py: --from/--to (month-end close)
register_case_commands(app)  # claimflow nsa ... / claimflow appeal ... (pipeline/cases_cli.py)
add_realtime_commands(app)  # eligibility check, claim-status check (real time, CORE)

Files = Annotated[list[Path], typer.Argument(help="X12 files.", show_default=False)]


@app.command()
def validate(
    files: Files,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            min=1,
            help="Processes for the pyx12 checks of big files (default: CPU count; 1 disables).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Envelope, implementation-guide (pyx12 and our maps) and balancing checks.

    Exit 0 valid, 1 invalid, 2 unreadable.
    """
    from pipeline.x12.validate import validate_command

    raise typer.Exit(validate_command(files, as_json=as_json, jobs=jobs))


@app.command()
def parse(
    files: Files,
    out: Annotated[Path, typer.Option("--out", help="Folder for the tables.")],
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "csv",
) -> None:
    """Auto-detect 271/TA1/999/277CA/835 and write the tables. Exit 0 parsed, 2 unreadable."""
    from pipeline.parse.commands import parse_command

    raise typer.Exit(parse_command(files, out=out, fmt=fmt))


Practice = Annotated[Path, typer.Option("--practice", help="Practice export folder.")]
OutFile = Annotated[Path, typer.Option("--out", help="X12 file to write.")]


@build_app.command("270")
def build_270(
    practice: Practice,
    out: OutFile,
    on: Annotated[
        str | None, typer.Option("--date", help="Appointment date (YYYY-MM-DD); default tomorrow.")
    ] = None,
) -> None:
    """270 eligibility inquiries for the appointments on a date."""
    from pipeline.build.commands import build_270_command

    raise typer.Exit(
        build_270_command(practice, out=out, on=date.fromisoformat(on) if on else None)
    )


@build_app.command("837p")
def build_837p(
    practice: Practice,
    out: OutFile,
    on: Annotated[
        str | None,
        typer.Option(
            "--date", help="Business date the scrubber judges by (YYYY-MM-DD); default today."
        ),
    ] = None,
) -> None:
    """837P for unbilled encounters that pass the scrubber; held claims are reported."""
    from pipeline.build.commands import build_837p_command

    raise typer.Exit(
        build_837p_command(practice, out=out, on=date.fromisoformat(on) if on else None)
    )


@clearinghouse_app.command("serve")
def clearinghouse_serve(
    root: Annotated[Path, typer.Option("--root", help="Folder for the simulator's world.")],
    port: Annotated[int, typer.Option("--port", help="Loopback port (0 = any free).")] = 0,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 7,
) -> None:
    """Run the clearinghouse simulator on loopback until interrupted."""
    from pipeline.clearinghouse.commands import serve_command

    raise typer.Exit(serve_command(root, port=port, seed=seed))


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="Where everything is written.")] = Path("out"),
    on: Annotated[
        str | None,
        typer.Option("--date", help="Business date (YYYY-MM-DD); default the demo's 2026-11-27."),
    ] = None,
    claims: Annotated[
        int | None,
        typer.Option(
            "--claims", min=1, help="Scale harness: a practice of N encounters (demo tiled)."
        ),
    ] = None,
    timings: Annotated[
        bool, typer.Option("--timings", help="Print wall, CPU and peak RSS per stage.")
    ] = False,
) -> None:
    """Run the whole nightly job against the embedded clearinghouse on the demo practice."""
    from flows.commands import demo_command

    day = date.fromisoformat(on) if on else None
    raise typer.Exit(demo_command(out, day, claims=claims, timings=timings))


@app.command()
def nightly(
    on: Annotated[str | None, typer.Option("--date", help="Business date (YYYY-MM-DD).")] = None,
) -> None:
    """Run the nightly flow against the configured clearinghouse."""
    from flows.commands import run_command

    raise typer.Exit(run_command("nightly", on=date.fromisoformat(on) if on else None))


@app.command()
def run(
    step: Annotated[str, typer.Argument(help="eligibility, claims, remittance or reconcile.")],
    on: Annotated[str | None, typer.Option("--date", help="Business date (YYYY-MM-DD).")] = None,
) -> None:
    """Run one flow from the shell."""
    from flows.commands import run_command

    raise typer.Exit(run_command(step, on=date.fromisoformat(on) if on else None))


@app.command()
def serve() -> None:
    """Register the deployments (nightly on a cron schedule, each flow on demand) and serve them."""
    from flows.commands import serve_command

    raise typer.Exit(serve_command())


def main(argv: list[str] | None = None) -> None:
    try:
        app(args=argv)  # standalone: usage errors print and exit 2 the Click way
    except ClaimflowError as exc:
        print(f"claimflow: error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
