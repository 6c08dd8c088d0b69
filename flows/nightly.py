"""The flows: ``eligibility``, ``claims``, ``remittance``, ``reconcile`` and ``nightly``.

Each flow is thin: tasks (:mod:`flows.tasks`) call ``pipeline.steps``; the flow polls the
inbound folder while answers are still expected, publishes artifacts (:mod:`flows.artifacts`)
and ends ``Failed`` when something must be fixed, ``Completed``/``NeedsAttention`` when claims
wait for a person — the message says what. Every run holds the workspace lock. Parameters are
the business date, the clearinghouse profile *name*, how long to wait; settings (database URL,
key passphrase) come from the environment, never from parameters.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from prefect import State, flow, get_run_logger
from prefect.states import Completed, Failed

from flows import progress, tasks
from flows.artifacts import ARTIFACT_ROWS, json_records, publish_summary, publish_table
from flows.logs import bridge_pipeline_logs
from flows.runtime import Run, business_date, make_run
from pipeline import steps
from pipeline.errors import WorkspaceBusy
from pipeline.lock import workspace_lock
from pipeline.steps import Workspace

__all__ = [
    "FLOWS",
    "NEEDS_ATTENTION",
    "Outcome",
    "claim_status",
    "claims",
    "eligibility",
    "nightly",
    "on_cluster",
    "reconcile",
    "remittance",
]


@dataclass
class Outcome:
    """What a flow run did: facts for the summary, what needs a person, tables for artifacts."""

    flow: str
    on: date
    facts: dict[str, Any] = field(default_factory=dict)
    attention: list[str] = field(default_factory=list)
    """Faults a person must fix: the run ends ``Failed``."""
    work: list[str] = field(default_factory=list)
    """Work items (claims held, rejected): the run ends ``Completed`` named ``NeedsAttention``."""
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    frames: dict[str, Any] = field(default_factory=dict, repr=False)
    """DataFrames (remittance and reconciliation tables) for in-process callers."""
    totals: dict[str, int] = field(default_factory=dict)
    """Rows each of ``tables`` has in full, when only its first ones were made (artifacts)."""

    @property
    def needs_person(self) -> bool:
        return bool(self.attention)

    def message(self) -> str:
        lines = self.attention + self.work
        if not lines:
            return f"{self.flow} {self.on}: done"
        shown = "; ".join(lines[:5])
        more = f" (+{len(lines) - 5} more)" if len(lines) > 5 else ""
        return f"{self.flow} {self.on} needs a person: {shown}{more}"


_OPTIONS: dict[str, Any] = {"persist_result": False, "log_prints": False}


def _start(on: date | None, clearinghouse: str | None, stamp_time: str | None = None) -> Run:
    bridge_pipeline_logs()  # the pipeline's own log lines go to this run's logs
    return make_run(on, clearinghouse, stamp_time)


NEEDS_ATTENTION = "NeedsAttention"
"""Name of the ``Completed`` state of a run that did its work but left claims for a person."""


def _finish(outcome: Outcome, fail_on_attention: bool) -> Outcome | State:
    """Publish the summary and tables; the final state says whether a person is needed:
    ``Failed`` for faults (``attention``), ``Completed``/``NeedsAttention`` for work items."""
    key = outcome.flow
    publish_summary(
        f"{key}-summary", f"{key} {outcome.on}", outcome.facts, outcome.attention + outcome.work
    )
    for name, rows in outcome.tables.items():
        title = f"{key} {outcome.on}: {name.replace('-', ' ')}"
        publish_table(f"{key}-{name}", rows, title, outcome.totals.get(name))
    # What a flow returns is walked by Prefect row by row: keep what the artifacts showed.
    outcome.tables = {name: rows[:ARTIFACT_ROWS] for name, rows in outcome.tables.items()}
    logger = get_run_logger()
    for line in outcome.attention + outcome.work:
        logger.warning("needs a person: %s", line)
    if not fail_on_attention:
        return outcome
    if outcome.attention:
        return Failed(message=outcome.message(), data=outcome)
    if outcome.work:
        return Completed(name=NEEDS_ATTENTION, message=outcome.message(), data=outcome)
    return outcome


def _failed(name: str, on: date | None, exc: Exception, stage: str, done: list[Outcome]) -> State:
    """A run that raised: its summary still says what was done and what needs a person."""
    from pipeline.errors import ClaimflowError

    logger = get_run_logger()
    if isinstance(exc, ClaimflowError):  # our messages are one line, without field values
        line = " ".join(str(exc).split())
        logger.error("%s failed: %s", stage, line)
    else:  # a bug: the traceback goes to the run's logs, only the type to the state message
        line = f"{type(exc).__name__} (see the run's logs)"
        logger.error("%s failed", stage, exc_info=exc)
    try:
        day = business_date(on)
    except Exception:  # the settings themselves are broken: the error says so
        day = on or date.min
    outcome = Outcome(name, day)
    outcome.facts = {"result": f"failed during {stage}", "finished": [o.flow for o in done]}
    outcome.attention = [f"{stage} failed: {line}"]
    for finished in done:
        outcome.attention += finished.attention
        outcome.work += finished.work
    publish_summary(
        f"{name}-summary", f"{name} {day}", outcome.facts, outcome.attention + outcome.work
    )
    return Failed(message=outcome.message(), data=outcome)


def _guarded(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A flow run on its own that raises still publishes its summary (then ends ``Failed``).
    Inside the nightly (``fail_on_attention=False``) the error goes up: the nightly reports it.
    """

    def wrap(body: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(body)

        @functools.wraps(body)
        def run(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            try:
                with workspace_lock(Workspace.from_settings().base):
                    return body(*args, **kwargs)
            except WorkspaceBusy as exc:  # another run's night: touch nothing, report nothing
                return Failed(message=str(exc))
            except Exception as exc:
                if not bound.arguments.get("fail_on_attention", True):
                    raise
                return _failed(name, bound.arguments.get("on"), exc, name, [])

        return run

    return wrap


def _poll(
    run: Run, wait_seconds: float | None, process: Callable[[], None], kind: str
) -> tuple[int, list[str]]:
    """Collect and process until no ``kind`` answer is awaited or the wait ends.

    Returns what is still awaited and what collecting found for a person (refused files).
    """
    polling = run.profile().polling
    wait = polling.max_wait_seconds if wait_seconds is None else wait_seconds
    deadline = time.monotonic() + wait
    attention: list[str] = []
    while True:
        attention += tasks.collect(run).attention
        process()
        left = int(getattr(tasks.awaiting(run), kind))
        remaining = deadline - time.monotonic()
        if left == 0 or remaining <= 0:
            return left, attention
        time.sleep(min(polling.interval_seconds, remaining))


@flow(name="eligibility", **_OPTIONS)
@_guarded("eligibility")
def eligibility(
    on: date | None = None,
    clearinghouse: str | None = None,
    wait_seconds: float | None = None,
    stamp_time: str | None = None,
    fail_on_attention: bool = True,
) -> Any:
    """270 for tomorrow's appointments -> send -> collect 271s -> eligibility summaries."""
    run = _start(on, clearinghouse, stamp_time)
    staged = tasks.stage_eligibility(run)
    upload = tasks.upload_pending(run)
    answers = steps.EligibilityResult()

    left, collected = _poll(
        run, wait_seconds, lambda: answers.add(tasks.process_eligibility(run)), "eligibility"
    )
    outcome = Outcome("eligibility", run.on)
    outcome.facts = {
        "270 file": staged.file or "none (nothing new to ask)",
        "inquiries sent": staged.count,
        "already asked": staged.already_sent,
        "held": len(staged.held),
        "uploaded": upload.uploaded,
        "271 answers": answers.responses,
        "coverage": answers.by_status,
        "still awaited": left,
    }
    outcome.attention = staged.attention + collected + answers.attention
    if left:
        outcome.attention.append(f"{left} eligibility inquiry(ies) still have no 271")
    outcome.tables = {"held": staged.held}
    return _finish(outcome, fail_on_attention)


@flow(name="claims", **_OPTIONS)
@_guarded("claims")
def claims(
    on: date | None = None,
    clearinghouse: str | None = None,
    wait_seconds: float | None = None,
    stamp_time: str | None = None,
    fail_on_attention: bool = True,
) -> Any:
    """Scrub -> 837P -> validate -> send -> TA1/999/277CA -> accepted or rejected claims."""
    run = _start(on, clearinghouse, stamp_time)
    staged = tasks.stage_claims(run)
    upload = tasks.upload_pending(run)
    acks = steps.AckSummary()

    left, collected = _poll(
        run, wait_seconds, lambda: acks.add(tasks.process_acknowledgments(run)), "acknowledgments"
    )
    outcome = Outcome("claims", run.on)
    outcome.facts = {
        "837P file": staged.file or "none (nothing new to send)",
        "claims sent": staged.count,
        "already sent": staged.already_sent,
        "held by the scrubber": len({h["encounter_id"] for h in staged.held}),
        "uploaded": upload.uploaded,
        "acknowledgment files": acks.files,
        "accepted": acks.accepted,
        "rejected": acks.rejected,
        "still unacknowledged": left,
    }
    outcome.attention = staged.attention + collected + acks.attention
    if left:
        outcome.attention.append(f"{left} claim(s) submitted still have no acknowledgment")
    outcome.tables = {"rejections": acks.rejections, "held": staged.held}
    return _finish(outcome, fail_on_attention)


@flow(name="remittance", **_OPTIONS)
@_guarded("remittance")
def remittance(
    on: date | None = None,
    clearinghouse: str | None = None,
    fail_on_attention: bool = True,
    keep_frames: bool = True,
) -> Any:
    """Collect -> register -> parse (fanned out on the task runner) -> post 835s.

    ``keep_frames=False``: the outcome carries no remittance tables (the nightly reads them
    again from the files in reconcile; keeping them would hold every 835's rows till then).
    """
    run = _start(on, clearinghouse)
    collected = tasks.collect(run)
    waiting = tasks.remittances_waiting(run)
    futures = tasks.parse_return_file.map([p for _, p, _ in waiting], [n for _, _, n in waiting])
    parsed = [(file_id, f.result()) for (file_id, _, _), f in zip(waiting, futures, strict=True)]
    del futures  # each holds its file's tables (as ``parsed`` does, till they are posted)
    posted = tasks.post_parsed(run, parsed, keep_frames)
    del parsed
    outcome = Outcome("remittance", run.on, frames=posted.tables if keep_frames else {})
    outcome.facts = {
        "new files": len(collected.received),
        "duplicates skipped": len(collected.duplicates),
        "835 files posted": posted.files,
        "claims posted": posted.claims,
        "by state": posted.by_state,
        "unmatched": len(posted.unmatched),
        "payments": f"${posted.payments:,.2f}",
    }
    outcome.attention = collected.attention + posted.attention
    payments = posted.tables.get("remit_payments")
    outcome.tables = {"payments": json_records(payments)}
    return _finish(outcome, fail_on_attention)


@flow(name="claim-status", **_OPTIONS)
@_guarded("claim-status")
def claim_status(
    on: date | None = None,
    clearinghouse: str | None = None,
    wait_seconds: float | None = None,
    stamp_time: str | None = None,
    fail_on_attention: bool = True,
) -> Any:
    """276 for claims past the payer's response window -> send -> 277s -> claim states."""
    run = _start(on, clearinghouse, stamp_time)
    staged = tasks.stage_claim_status(run)
    upload = tasks.upload_pending(run)
    answers = steps.AckSummary()
    left, collected = _poll(
        run, wait_seconds, lambda: answers.add(tasks.process_acknowledgments(run)), "claim_status"
    )
    outcome = Outcome("claim-status", run.on)
    outcome.facts = {
        "276 file": staged.file or "none (no claim past its payer's window)",
        "claims asked about": staged.count,
        "uploaded": upload.uploaded,
        "277 answers": answers.statuses,
        "rejected or not on file": answers.rejected,
        "still awaited": left,
    }
    outcome.attention = staged.attention + collected + answers.attention
    outcome.tables = {"rejections": answers.rejections}
    return _finish(outcome, fail_on_attention)


@flow(name="reconcile", **_OPTIONS)
@_guarded("reconcile")
def reconcile(on: date | None = None, fail_on_attention: bool = True) -> Any:
    """Flags, appeal worklist, letters, exports (CSV, Parquet, Excel) and the HTML report."""
    run = _start(on, None)
    done = tasks.reconcile_and_export(run)
    outcome = Outcome("reconcile", run.on, frames=done.tables)
    outcome.facts = {
        "as of": done.as_of,
        "835 files": done.remittances,
        "flags": done.flags,
        "by flag": done.by_flag,
        "dollars flagged": f"${done.dollars_flagged:,.2f}",
        "appeal worklist": done.worklist,
        "letters": done.letters,
        "report": str(done.report),
    }
    outcome.attention = done.attention
    flags = done.tables.get("flags")
    outcome.tables = {"flags": json_records(flags, limit=ARTIFACT_ROWS)}
    outcome.totals = {"flags": 0 if flags is None else len(flags)}
    return _finish(outcome, fail_on_attention)


@flow(name="nightly", **_OPTIONS)
def nightly(
    on: date | None = None,
    clearinghouse: str | None = None,
    wait_seconds: float | None = None,
    stamp_time: str | None = None,
) -> Any:
    """Eligibility, claims, remittance, claim status, reconcile — in that order, for one date.

    Ends ``Failed`` when something needs fixing (or a stage raised: the summary is published
    all the same), ``Completed`` named ``NeedsAttention`` when claims wait for a person (held by
    the scrubber, rejected), plain ``Completed`` otherwise. The result is also written to
    ``last-night.json`` in the workspace (``claimflow status`` shows it).
    """
    try:
        with workspace_lock(Workspace.from_settings().base):  # one night at a time
            return _nightly(on, clearinghouse, wait_seconds, stamp_time)
    except WorkspaceBusy as exc:  # another run's night: touch nothing, report nothing
        return Failed(message=str(exc))


def _nightly(
    on: date | None, clearinghouse: str | None, wait_seconds: float | None, stamp_time: str | None
) -> Any:
    stage, done = "start", []
    try:
        run = _start(on, clearinghouse, stamp_time)
        when, where = run.on, run.clearinghouse
        elig, clm, remit, status, rec = map(
            on_cluster, (eligibility, claims, remittance, claim_status, reconcile)
        )
        plan: list[tuple[str, Callable[[], object]]] = [
            ("eligibility", lambda: elig(when, where, wait_seconds, stamp_time, False)),
            ("claims", lambda: clm(when, where, wait_seconds, stamp_time, False)),
            ("remittance", lambda: remit(when, where, False, keep_frames=False)),
            ("claim-status", lambda: status(when, where, wait_seconds, stamp_time, False)),
            ("reconcile", lambda: rec(when, False)),
        ]
        for stage, call in plan:
            progress.stage(stage)
            done.append(_slim(_sub(call())))
        progress.stage("done")
        stage = "summing up"
        e, c, r, st, k = done
        with run.ledger() as ledger:
            counts = steps.claim_counts(ledger)
            files = steps.file_counts(ledger)
    except Exception as exc:
        state = _failed("nightly", on, exc, stage, done)
        _record_night(state)
        return state
    outcome = Outcome("nightly", run.on)
    outcome.facts = {
        "claims sent": counts["sent"],
        "sent by this run": c.facts["claims sent"],
        # each claim once, in its current state (the parts add up to "claims sent")
        "awaiting acknowledgment": counts["awaiting_acknowledgment"],
        "accepted": counts["accepted"],
        "rejected": counts["rejected"],
        "paid": counts["paid_any"],
        "denied": counts["denied"],
        "later states": counts["other"],
        "held by the scrubber": counts["scrub_failed"],
        "eligibility answers": files["eligibility_answers"],
        "835 files posted": files["remittances_posted"],
        "flags": k.facts["flags"],
        "dollars flagged": k.facts["dollars flagged"],
    }
    outcome.attention = e.attention + c.attention + r.attention + st.attention + k.attention
    outcome.work = steps.claims_needing_person(counts)
    outcome.tables = {"flags": k.tables["flags"], "rejections": c.tables["rejections"]}
    outcome.totals = {"flags": k.totals.get("flags", 0)}
    final = _finish(outcome, fail_on_attention=True)
    _record_night(final)
    return final


def _record_night(result: Outcome | State) -> None:
    """``last-night.json`` in the workspace: the state, its message, facts and what needs a
    person (no field values: counts, file names, states). Best effort: never fails the run."""
    name = "Completed" if isinstance(result, Outcome) else (result.name or result.type.value)
    outcome: object = result if isinstance(result, Outcome) else result.data
    if not isinstance(outcome, Outcome):
        return
    try:
        steps.record_night(
            Workspace.from_settings(),
            state=name,
            on=outcome.on,
            message=outcome.message(),
            facts=outcome.facts,
            needs_person=outcome.attention + outcome.work,
        )
    except Exception:  # a full disk must not turn a finished night into a crash
        get_run_logger().warning("could not write last-night.json", exc_info=True)


def _slim(outcome: Outcome) -> Outcome:
    """What the nightly keeps of a finished subflow: facts, what needs a person and the
    artifact rows — not its DataFrames, which would stay alive through the rest of the night
    (the exports and the report already hold what reconcile found)."""
    outcome.frames = {}
    return outcome


def _sub(value: object) -> Outcome:
    """A subflow's outcome (they run with ``fail_on_attention=False``, so never a state)."""
    if not isinstance(value, Outcome):
        raise TypeError(f"subflow returned {type(value).__name__}, not an Outcome")
    return value


def on_cluster(flow_: Any) -> Any:
    """``flow_`` with its tasks on the Dask cluster of ``CLAIMFLOW_DASK_ADDRESS`` (prefect-dask),
    or as it is when none is set (threads). Decided per run, so a deployment follows settings."""
    from pipeline.settings import get_settings

    address = get_settings().dask_address
    if not address:
        return flow_
    from prefect_dask.task_runners import DaskTaskRunner

    return flow_.with_options(task_runner=DaskTaskRunner(address=address))


FLOWS: dict[str, Any] = {
    "eligibility": eligibility,
    "claims": claims,
    "remittance": remittance,
    "claim-status": claim_status,
    "reconcile": reconcile,
    "nightly": nightly,
}
