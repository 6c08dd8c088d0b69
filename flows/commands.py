"""``claimflow demo``, ``claimflow nightly`` / ``run STEP`` and ``claimflow serve``.

Prefect is imported only inside the functions, after :func:`flows.runtime.prefect_environment`
has set its start-up settings (Prefect home inside the workspace, a patient start-up timeout,
analytics off, WARNING logs), for ``demo`` and ``run`` alike; nothing the user set is changed.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TextIO

from flows.runtime import PREFECT_STARTUP, prefect_environment
from pipeline.errors import ConfigError

__all__ = [
    "DEMO_DATE",
    "PREFECT_STARTUP",
    "demo_command",
    "local_cluster",
    "prefect_environment",
    "run_command",
    "serve_command",
]

DEMO_DATE = date(2026, 11, 27)
"""The demo practice's "today" (sample_edi/practice/README.md): results do not drift."""
DEMO_STAMP = "02:00"
"""Envelope time of the demo's files: same bytes, same simulator answers, every run."""
DEMO_WAIT_SECONDS = 30.0
DEMO_SEED = 7
STEPS = ("eligibility", "claims", "remittance", "claim-status", "reconcile", "nightly")
ROOT = Path(__file__).resolve().parents[1]


def run_command(
    step: str,
    *,
    on: date | None,
    clearinghouse: str | None = None,
    out: TextIO | None = None,
    workers: int | None = None,
) -> int:
    """One flow (or ``nightly``) against the clearinghouse; 0 done, 1 needs a person.

    ``clearinghouse``: a profile name or a YAML file (default: settings); checked before
    Prefect starts, so a bad profile is one line, not a failed run. ``workers``: see
    :func:`local_cluster`.
    """
    out = out or sys.stdout
    if step not in STEPS:
        raise ConfigError(f"unknown step {step!r}; choose one of {', '.join(STEPS)}")
    params: dict[str, Any] = {"on": on}
    if clearinghouse is not None:
        if step == "reconcile":
            raise ConfigError("reconcile talks to no clearinghouse: drop --clearinghouse")
        params["clearinghouse"] = _profile_argument(clearinghouse)
    from pipeline.errors import WorkspaceBusy
    from pipeline.lock import workspace_lock
    from pipeline.settings import get_settings
    from pipeline.steps import Workspace

    # The same Prefect start-up as the demo, with PREFECT_HOME inside the workspace.
    prefect_environment(Path(get_settings().home).resolve())
    try:
        with workspace_lock(Workspace.from_settings().base):  # refused before Prefect starts
            from flows.nightly import FLOWS, on_cluster

            with local_cluster(workers):
                state: Any = on_cluster(FLOWS[step])(**params, return_state=True)
    except WorkspaceBusy as exc:
        print(f"claimflow: {exc}", file=sys.stderr)
        return 1
    outcome = _outcome(state)
    if outcome is not None:
        _print_facts(outcome.facts, out)
    if state.is_completed():
        if state.name != "Completed":  # NeedsAttention: done, but claims wait for a person
            print(f"claimflow: {state.message}", file=sys.stderr)
        return 0
    print(f"claimflow: {state.message or state.name}", file=sys.stderr)
    return 1


@contextmanager
def local_cluster(workers: int | None) -> Iterator[None]:
    """A local Dask cluster of ``workers`` processes for this run, when more than one is asked
    (default ``CLAIMFLOW_WORKERS``) and no cluster is configured (``CLAIMFLOW_DASK_ADDRESS``).

    The flows' mapped tasks (prefect-dask) and the pipeline's split work (validation, parsing)
    then run on its workers; they inherit this environment (settings, Prefect's API address).
    """
    from pipeline.settings import get_settings

    settings = get_settings()
    count = settings.workers if workers is None else workers
    if count <= 1 or settings.dask_address:
        yield
        return
    try:
        from distributed import LocalCluster
    except ImportError as exc:
        raise ConfigError(
            "--workers needs Dask: pip install 'claimflow[scale]' (make install has it)"
        ) from exc

    _share_prefect_api()
    # Its scheduler runs in this process: its INFO lines (clients coming and going, one per
    # flow) would fill the run's console; warnings and errors still show.
    logging.getLogger("distributed").setLevel(logging.WARNING)
    with LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=count, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        os.environ["CLAIMFLOW_DASK_ADDRESS"] = cluster.scheduler_address
        get_settings.cache_clear()
        try:
            yield
        finally:
            del os.environ["CLAIMFLOW_DASK_ADDRESS"]
            get_settings.cache_clear()


def _share_prefect_api() -> None:
    """Workers must report to this run's Prefect API: the temporary one's address, if that is
    what runs (a worker would otherwise start a temporary server of its own)."""
    from prefect.settings import get_current_settings

    if get_current_settings().api.url:
        return
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()
    server.start()
    os.environ["PREFECT_API_URL"] = server.api_url


def _profile_argument(clearinghouse: str) -> str:
    """A profile file becomes an absolute path (runs may start elsewhere); load it once now."""
    from pipeline.transport import load_profile
    from pipeline.transport.profiles import is_profile_path

    if is_profile_path(clearinghouse):
        clearinghouse = str(Path(clearinghouse).expanduser().resolve())
    load_profile(clearinghouse)  # a ConfigError names the file and the problem
    return clearinghouse


def serve_command() -> int:
    """Serve the deployments on the configured Prefect server; refuses without one."""
    from prefect.settings import get_current_settings

    if not get_current_settings().api.url:
        # Without a server Prefect would start a temporary one: the schedule would vanish.
        raise ConfigError(
            "claimflow serve needs a Prefect server: set PREFECT_API_URL "
            "(e.g. http://127.0.0.1:4200/api, after `prefect server start`)"
        )
    from flows.deployments import serve_deployments

    serve_deployments()
    return 0


def demo_command(
    out: Path,
    on: date | None = None,
    *,
    stdout: TextIO | None = None,
    claims: int | None = None,
    timings: bool = False,
    workers: int | None = None,
) -> int:
    """The whole night against the embedded clearinghouse, on the demo practice, into ``out``.

    ``claims``: the scale harness — the demo practice tiled to that many encounters
    (:mod:`pipeline.practice.scale`); ``timings``: print the per-stage table at the end;
    ``workers``: a local Dask cluster of that many processes (:func:`local_cluster`).
    """
    stdout = stdout or sys.stdout
    started = time.monotonic()
    base = out.resolve()
    base.mkdir(parents=True, exist_ok=True)
    prefect_environment(base)
    prefect_ready = _start_ephemeral_api()
    practice_dir = ROOT / "sample_edi" / "practice"
    if claims is not None:
        from pipeline.benchnight import stage
        from pipeline.practice.scale import write_scaled_practice

        with stage("scale: practice written"):
            practice_dir = write_scaled_practice(practice_dir, base / "practice", claims)
    profile_path = base / "embedded-profile.yaml"
    # The demo is its own world: its ledger, practice and clearinghouse, whatever is configured.
    os.environ["CLAIMFLOW_HOME"] = str(base)
    os.environ["CLAIMFLOW_DATABASE_URL"] = f"sqlite:///{base / 'ledger.db'}"
    os.environ["CLAIMFLOW_PRACTICE_DIR"] = str(practice_dir)
    os.environ["CLAIMFLOW_CLEARINGHOUSE"] = str(profile_path)
    from pipeline.settings import get_settings

    get_settings.cache_clear()
    day = on or DEMO_DATE
    from pipeline.errors import WorkspaceBusy
    from pipeline.lock import workspace_lock

    with ExitStack() as held:
        try:  # one demo per folder: its simulator and ledger are the folder's
            held.enter_context(workspace_lock(base))
        except WorkspaceBusy as exc:
            print(f"claimflow: {exc}", file=sys.stderr)
            return 1
        return _demo(
            base, day, profile_path, practice_dir, stdout,
            _Scale(claims, timings, started, prefect_ready, workers),
        )  # fmt: skip


def _start_ephemeral_api() -> Callable[[], None]:
    """Start Prefect's temporary API server now, in a thread; the returned call waits for it.

    Without ``PREFECT_API_URL`` the first flow call starts it (~15 s: a fresh database is
    migrated); started here, it migrates on the other core while the practice is written and
    the embedded clearinghouse loads it. The flow then finds it running (one per process).
    """
    from prefect.settings import get_current_settings

    settings = get_current_settings()
    if settings.api.url or not settings.server.ephemeral.enabled:
        return lambda: None
    from prefect.server.api.server import SubprocessASGIServer

    failed: list[BaseException] = []

    def start() -> None:
        try:
            SubprocessASGIServer().start()
        except BaseException as exc:  # re-raised in the caller's thread
            failed.append(exc)

    thread = threading.Thread(target=start, name="prefect-ephemeral-start", daemon=True)
    thread.start()

    def wait() -> None:
        thread.join()
        if failed:
            raise failed[0]

    return wait


@dataclass(frozen=True)
class _Scale:
    """The scale harness's options (``--claims``, ``--timings``) and the demo's start time."""

    claims: int | None
    timings: bool
    started: float
    prefect_ready: Callable[[], None] = lambda: None
    """Waits for the Prefect API started in the background (:func:`_start_ephemeral_api`)."""
    workers: int | None = None


def _demo(
    base: Path, day: date, profile_path: Path, practice_dir: Path, stdout: TextIO, scale: _Scale
) -> int:
    claims = scale.claims
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    console = Console(file=stdout)
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console,
        transient=True,
    ) as bar:  # fmt: skip
        task = bar.add_task("starting the embedded clearinghouse", total=None)
        with _simulator(base / "clearinghouse", practice_dir, own_process=claims is not None) as ch:
            write_embedded_profile(profile_path, ch.root, ch.port, claims=claims)
            bar.update(task, description="starting Prefect (ephemeral) and the nightly flow")
            from pipeline.benchnight import stage

            with stage("Prefect start"):  # what is left of it: it began in the background
                scale.prefect_ready()
            from flows import progress
            from flows.nightly import nightly

            progress.set_hook(lambda stage: bar.update(task, description=f"nightly: {stage}"))
            try:
                with ExitStack() as cluster:
                    with stage("Dask cluster start"):
                        cluster.enter_context(local_cluster(scale.workers))
                    state: Any = nightly(
                        on=day,
                        clearinghouse=str(profile_path),
                        wait_seconds=DEMO_WAIT_SECONDS,
                        stamp_time=DEMO_STAMP,
                        return_state=True,
                    )
            finally:
                progress.set_hook(None)
            ch.wait_idle()
    outcome = _outcome(state)
    elapsed = time.monotonic() - scale.started
    console.print(f"[bold]claimflow demo[/] — business date {day}, {elapsed:.0f} s")
    if outcome is not None:
        _print_facts(outcome.facts, stdout)
    for label, path in (
        ("files sent", base / "edi" / "sent"),
        ("files received", base / "edi" / "received"),
        ("exports (CSV, Parquet, Excel)", base / "exports"),
        ("appeal letters", base / "letters"),
        ("report", base / "report.html"),
        ("ledger", base / "ledger.db"),
        ("clearinghouse (ground truth)", base / "clearinghouse" / "ground_truth"),
    ):
        print(f"  {label:<30} {path}", file=stdout)
    if scale.timings:
        from pipeline.benchnight import render_table, write_night
        from pipeline.benchnight import timings as stage_timings

        claims_count = claims if claims is not None else _encounter_count(practice_dir)
        rows = stage_timings()
        write_night(base / "timings.json", rows, claims=claims_count, total_wall=elapsed)
        print(file=stdout)
        print(render_table(rows, claims=claims_count, total_wall=elapsed), file=stdout)
    if state.is_completed():
        return 0
    print(f"claimflow: {state.message or state.name}", file=sys.stderr)
    return 1


def _simulator(root: Path, practice_dir: Path, *, own_process: bool) -> Any:
    """The embedded clearinghouse: in a thread of this process for the demo; for the scale
    harness in its own process, as a real clearinghouse is (its CPU and memory not the night's).
    Either way the same seed, practice and answers."""
    if own_process:
        from pipeline.clearinghouse.process import SimulatorProcess

        return SimulatorProcess(root, DEMO_SEED, practice_dir)
    from pipeline.clearinghouse import Clearinghouse

    return Clearinghouse(root, seed=DEMO_SEED, practice=practice_dir)


def _encounter_count(practice_dir: Path) -> int:
    with (practice_dir / "encounters.csv").open(encoding="utf-8") as fh:
        return sum(1 for _ in fh) - 1


def write_embedded_profile(path: Path, root: Path, port: int, claims: int | None = None) -> Path:
    """The embedded profile with the running simulator's port and absolute key paths.

    ``claims`` (the scale harness): the simulator answers a file before it acknowledges the
    upload, on its one event loop, so the timeouts grow with the night (~20 ms a claim).
    """
    from pipeline.transport import load_profile
    from pipeline.transport.profiles import write_profile

    profile = load_profile("embedded", base_dir=root, port=port)
    if claims is not None:
        wait = max(profile.operation_timeout_seconds, claims * 0.02)
        profile = profile.model_copy(
            update={
                "operation_timeout_seconds": wait,
                "connect_timeout_seconds": max(profile.connect_timeout_seconds, wait),
            }
        )
    return write_profile(profile, path)


def _outcome(state: Any) -> Any:
    from flows.nightly import Outcome

    try:
        value = state.result(raise_on_failure=False)
    except Exception:  # a crashed run has no result; its message says why
        return None
    return value if isinstance(value, Outcome) else None


def _print_facts(facts: dict[str, Any], out: TextIO) -> None:
    for key, value in facts.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items()) or "-"
        elif isinstance(value, list):
            value = ", ".join(str(v) for v in value) or "-"
        print(f"  {key:<30} {value}", file=out)
