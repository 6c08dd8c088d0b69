"""The ``claimflow`` command.

Only Typer is imported here; each command imports what it needs (pandas, pyx12,
Prefect) when it runs, so ``claimflow --help`` stays fast. Every command returns
an exit code; any :class:`~pipeline.errors.ClaimflowError` becomes one line on
stderr and exit 2, never a traceback.
"""

from __future__ import annotations

import gc
import os
import sys
from datetime import date
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Annotated, Any

import typer

from pipeline.cases_cli import register as register_case_commands
from pipeline.cli_realtime import add_realtime_commands
from pipeline.cli_types import DATE_METAVAR, parse_date, readable_help
from pipeline.errors import ClaimflowError, WorkspaceBusy
from pipeline.report_cli import report_app

__all__ = ["Step", "app", "command", "main"]

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


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        print(f"claimflow {version('claimflow')}")
        raise typer.Exit(0)


@app.callback()
def _root(
    _show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """EDI X12 5010 pipeline: 270/837P out; 271, TA1, 999, 277CA, 835 in; reconciliation."""


def _on(help_text: str) -> Any:
    """A ``--date`` option: an ISO date, checked before the command runs."""
    return typer.Option("--date", help=help_text, parser=parse_date, metavar=DATE_METAVAR)


Profile = Annotated[
    str | None,
    typer.Option(
        "--clearinghouse",
        help="Clearinghouse profile: a name in mappings/clearinghouses/ or a YAML file "
        "(default: CLAIMFLOW_CLEARINGHOUSE).",
        metavar="NAME|FILE",
        show_default=False,
    ),
]

Workers = Annotated[
    int | None,
    typer.Option(
        "--workers",
        min=1,
        help="Run validation and parsing on a local Dask cluster of N worker processes "
        "(default: CLAIMFLOW_WORKERS, 1 = none; ignored when CLAIMFLOW_DASK_ADDRESS is set).",
        metavar="N",
        show_default=False,
    ),
]


class Step(StrEnum):
    """What ``claimflow run`` can run (flows/nightly.py ``FLOWS``)."""

    eligibility = "eligibility"
    claims = "claims"
    remittance = "remittance"
    claim_status = "claim-status"
    reconcile = "reconcile"
    nightly = "nightly"


class TableFormat(StrEnum):
    csv = "csv"
    parquet = "parquet"


Files = Annotated[list[Path], typer.Argument(help="X12 files.", show_default=False)]


class Engine(StrEnum):
    """``claimflow validate --engine``: pipeline.x12.validate.ENGINES."""

    compiled = "compiled"
    pyx12 = "pyx12"


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
    engine: Annotated[
        Engine,
        typer.Option(
            "--engine",
            help="Guide checker: compiled map tables (fast) or pyx12 itself (the reference).",
        ),
    ] = Engine.compiled,
) -> None:
    """Envelope, implementation-guide (pyx12's maps and ours) and balancing checks.

    Exit 0 valid, 1 invalid, 2 unreadable.
    """
    from pipeline.x12.validate import validate_command

    raise typer.Exit(validate_command(files, as_json=as_json, jobs=jobs, engine=engine.value))


@app.command()
def parse(
    files: Files,
    out: Annotated[Path, typer.Option("--out", help="Folder for the tables.")],
    fmt: Annotated[TableFormat, typer.Option("--format", help="Table files.")] = TableFormat.csv,
) -> None:
    """Auto-detect 271/TA1/999/277CA/835 and write the tables. Exit 0 parsed, 2 unreadable."""
    from pipeline.parse.commands import parse_command

    raise typer.Exit(parse_command(files, out=out, fmt=fmt.value))


Practice = Annotated[Path, typer.Option("--practice", help="Practice export folder.")]
OutFile = Annotated[Path, typer.Option("--out", help="X12 file to write.")]


@build_app.command("270")
def build_270(
    practice: Practice,
    out: OutFile,
    on: Annotated[date | None, _on("Appointment date; default tomorrow.")] = None,
) -> None:
    """270 eligibility inquiries for the appointments on a date."""
    from pipeline.build.commands import build_270_command

    raise typer.Exit(build_270_command(practice, out=out, on=on))


@build_app.command("837p")
def build_837p(
    practice: Practice,
    out: OutFile,
    on: Annotated[date | None, _on("Business date the scrubber judges by; default today.")] = None,
) -> None:
    """837P for unbilled encounters that pass the scrubber; held claims are reported."""
    from pipeline.build.commands import build_837p_command

    raise typer.Exit(build_837p_command(practice, out=out, on=on))


@clearinghouse_app.command("serve")
def clearinghouse_serve(
    root: Annotated[Path, typer.Option("--root", help="Folder for the simulator's world.")],
    port: Annotated[int, typer.Option("--port", help="Loopback port (0 = any free).")] = 0,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 7,
    write_profile: Annotated[
        Path | None,
        typer.Option(
            "--write-profile",
            help="Also write the profile reaching it here (for --clearinghouse FILE).",
            metavar="FILE",
        ),
    ] = None,
) -> None:
    """Run the clearinghouse simulator on loopback until interrupted (Ctrl-C or SIGTERM)."""
    from pipeline.benchnight import dump_on_exit
    from pipeline.clearinghouse.commands import serve_command

    dump_on_exit()  # under the scale harness: what it timed goes back to the night

    raise typer.Exit(serve_command(root, port=port, seed=seed, write_profile=write_profile))


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="Where everything is written.")] = Path("out"),
    on: Annotated[date | None, _on("Business date; default the demo's 2026-11-27.")] = None,
    claims: Annotated[
        int | None,
        typer.Option(
            "--claims", min=1, help="Scale harness: a practice of N encounters (demo tiled)."
        ),
    ] = None,
    timings: Annotated[
        bool, typer.Option("--timings", help="Print wall, CPU and peak RSS per stage.")
    ] = False,
    workers: Workers = None,
) -> None:
    """Run the whole nightly job against the embedded clearinghouse on the demo practice."""
    from flows.commands import demo_command

    raise typer.Exit(demo_command(out, on, claims=claims, timings=timings, workers=workers))


@app.command()
def nightly(
    on: Annotated[date | None, _on("Business date; default today.")] = None,
    clearinghouse: Profile = None,
    workers: Workers = None,
) -> None:
    """Run the nightly flow against the configured clearinghouse."""
    from flows.commands import run_command

    raise typer.Exit(run_command("nightly", on=on, clearinghouse=clearinghouse, workers=workers))


@app.command()
def run(
    step: Annotated[Step, typer.Argument(help="The flow to run.", show_default=False)],
    on: Annotated[date | None, _on("Business date; default today.")] = None,
    clearinghouse: Profile = None,
    workers: Workers = None,
) -> None:
    """Run one flow from the shell."""
    from flows.commands import run_command

    raise typer.Exit(run_command(step.value, on=on, clearinghouse=clearinghouse, workers=workers))


@app.command()
def serve() -> None:
    """Register the deployments (nightly on a cron schedule, each flow on demand) and serve them."""
    from flows.commands import serve_command

    raise typer.Exit(serve_command())


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    workspace: Annotated[
        Path | None,
        typer.Option(
            "--workspace", help="Workspace folder (default: CLAIMFLOW_HOME).", show_default=False
        ),
    ] = None,
) -> None:
    """Claims by state, files waiting or quarantined, what needs a person, last night's result."""
    from pipeline.status_cli import status_command

    raise typer.Exit(status_command(workspace, as_json=as_json))


@cache
def command() -> Any:
    """The Click command behind ``app``, with plain metavars in every ``--help``."""
    return readable_help(typer.main.get_command(app))


def main(argv: list[str] | None = None) -> None:
    """Entry point: a usage error or a ClaimflowError is one line on stderr and exit 2 (a busy
    workspace: exit 1)."""
    from typer import Abort
    from typer._click.exceptions import NoArgsIsHelpError, UsageError

    # What a command writes may hold PHI: owner-only files and folders, whatever the umask
    # (the same mask as pipeline.steps.workspace.keep_private, without importing settings).
    os.umask(os.umask(0o077) | 0o077)
    # A night keeps millions of small objects alive until it ends (practice, claims, rows);
    # at CPython's default thresholds (700, 10, 10) the collector keeps re-walking them:
    # 16 % of a 10k-claim night's CPU (45.5 s -> 38.3 s user), same memory.
    gc.set_threshold(100_000, 50, 1000)
    # Arrow's default allocator (mimalloc) keeps freed memory committed: each exported table
    # left tens of MiB of RSS behind. The C allocator returns it (20k night: peak 522 -> 504
    # MiB, same CPU). Read when pyarrow is first imported, which is after this line.
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    try:
        code = command().main(args=argv, prog_name="claimflow", standalone_mode=False)
    except NoArgsIsHelpError as exc:
        exc.show()
        code = exc.exit_code
    except UsageError as exc:
        where = f" (see: {exc.ctx.command_path} --help)" if exc.ctx is not None else ""
        message = " ".join(exc.format_message().replace("Value error, ", "").split())
        print(f"claimflow: error: {message}{where}", file=sys.stderr)
        code = exc.exit_code
    except WorkspaceBusy as exc:  # as `run` and `nightly` say it: busy is not an error of input
        print(f"claimflow: {exc}", file=sys.stderr)
        code = 1
    except ClaimflowError as exc:
        print(f"claimflow: error: {exc}", file=sys.stderr)
        code = 2
    except (KeyboardInterrupt, Abort):
        code = 130
    sys.exit(code if isinstance(code, int) else 0)
