"""Prefect tasks: each one opens what it needs from a :class:`~flows.runtime.Run` and calls one
``pipeline.steps`` function. Nothing is cached or persisted: every task's truth is the ledger.

Retries: one layer per kind of fault. A transient transport error (dropped link, timeout,
refused connection) is retried inside the transport, ``profile.retry.attempts`` tries in all;
the tasks that talk to the clearinghouse retry only the other transient errors (a busy ledger).
Anything terminal (``ConfigError``, an unknown profile, a refused key) fails at once.
"""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from flows.logs import bridge_pipeline_logs
from flows.runtime import Run
from pipeline import steps
from pipeline.errors import TransportError, is_transient

__all__ = [
    "IO_RETRY_DELAYS",
    "awaiting",
    "collect",
    "parse_return_file",
    "post_parsed",
    "process_acknowledgments",
    "process_eligibility",
    "reconcile_and_export",
    "remittances_waiting",
    "retry_worthy",
    "stage_claim_status",
    "stage_claims",
    "stage_eligibility",
    "upload_pending",
]

bridge_pipeline_logs()  # also where tasks run in other processes (Dask workers)

IO_RETRY_DELAYS = [2, 10, 30]
"""Seconds between attempts of an I/O task (for a busy ledger: the transport retries its own)."""


def retry_worthy(exc: BaseException) -> bool:
    """Whether the task layer retries ``exc``: transient, and not already retried by the
    transport (whose bounded retry is the one layer for transport errors)."""
    return is_transient(exc) and not isinstance(exc, TransportError)


def _retry_condition(_task: Any, _task_run: Any, state: Any) -> bool:
    """Prefect's ``retry_condition_fn``: the failed state carries the exception as its data."""
    exc = state.data
    if not isinstance(exc, BaseException):
        try:
            exc = state.result(raise_on_failure=False)
        except Exception as raised:  # a result that cannot be read: judge what was raised
            exc = raised
    return isinstance(exc, BaseException) and retry_worthy(exc)


_PLAIN: dict[str, Any] = {"cache_policy": NO_CACHE, "persist_result": False}
_IO: dict[str, Any] = {
    **_PLAIN,
    "retries": len(IO_RETRY_DELAYS),
    "retry_delay_seconds": IO_RETRY_DELAYS,
    "retry_condition_fn": _retry_condition,
}


@task(name="stage-eligibility", **_PLAIN)
def stage_eligibility(run: Run) -> steps.SendSummary:
    with run.ledger() as ledger:
        return steps.stage_eligibility(
            ledger, run.practice(), run.workspace, run.profile(), on=run.on, at=run.stamp
        )


@task(name="stage-claims", **_PLAIN)
def stage_claims(run: Run) -> steps.SendSummary:
    with run.ledger() as ledger:
        return steps.stage_claims(
            ledger,
            run.practice(),
            run.workspace,
            run.profile(),
            on=run.on,
            codes=run.codes(),
            at=run.stamp,
        )


@task(name="stage-claim-status", **_PLAIN)
def stage_claim_status(run: Run) -> steps.SendSummary:
    with run.ledger() as ledger:
        return steps.stage_claim_status(
            ledger, run.practice(), run.workspace, run.profile(), on=run.on, at=run.stamp
        )


@task(name="upload-pending", **_IO)
def upload_pending(run: Run) -> steps.UploadSummary:
    with run.ledger() as ledger, run.transport() as transport:
        return steps.upload_pending(ledger, transport, run.workspace)


@task(name="collect", **_IO)
def collect(run: Run) -> steps.CollectSummary:
    profile = run.profile()
    with run.ledger() as ledger, run.transport() as transport:
        return steps.collect(ledger, transport, run.workspace, after=profile.after_download)


@task(name="process-acknowledgments", **_PLAIN)
def process_acknowledgments(run: Run) -> steps.AckSummary:
    with run.ledger() as ledger:
        return steps.process_acknowledgments(ledger, run.workspace)


@task(name="process-eligibility", **_PLAIN)
def process_eligibility(run: Run) -> steps.EligibilityResult:
    with run.ledger() as ledger, run.fan_out() as executor:
        return steps.process_eligibility(ledger, run.workspace, executor)


@task(name="remittances-waiting", **_PLAIN)
def remittances_waiting(run: Run) -> list[tuple[int, str, str]]:
    """(file id, local path, name) of every received 835 not posted yet."""
    with run.ledger() as ledger:
        return [(f.id, f.local_path or "", f.names[0]) for f in steps.remittances_waiting(ledger)]


@task(name="parse-return-file", **_PLAIN)
def parse_return_file(path: str, name: str) -> Any:
    """A ParseResult, or the one-line reason the file cannot be read (it is then quarantined)."""
    from pipeline.errors import ClaimflowError

    try:
        return steps.parse_return_file(path, name)
    except (ClaimflowError, OSError) as exc:
        return " ".join(str(exc).split())


@task(name="post-remittances", **_PLAIN)
def post_parsed(
    run: Run, parsed: list[tuple[int, Any]], keep_frames: bool = True
) -> steps.RemitSummary:
    """Post the parsed files in arrival order (one writer); quarantine the unreadable ones.

    ``keep_frames``: the summary's tables are every file's, combined; otherwise only the
    payments (the flow's artifact): no concatenated copy of the night's 835 rows.
    """
    from pipeline.steps.files import quarantine

    summary = steps.RemitSummary()
    good = []
    with run.ledger() as ledger:
        for file_id, result in parsed:
            record = ledger.file(file_id)
            if isinstance(result, str):
                summary.attention.append(quarantine(ledger, run.workspace, record, result))
                continue
            steps.post_remittance(ledger, record, result, summary)
            good.append(result if keep_frames else _payments_only(result))
    summary.tables = steps.combine_tables(good)
    return summary


def _payments_only(result: Any) -> Any:
    """A posted file's parse result reduced to its ``remit_payments`` table."""
    from dataclasses import replace

    tables = {k: v for k, v in result.tables.items() if k == "remit_payments"}
    return replace(result, tables=tables, claim_keys={})


@task(name="reconcile-and-export", **_PLAIN)
def reconcile_and_export(run: Run) -> steps.ReconcileSummary:
    with run.ledger() as ledger:
        # Taken from the cache and passed on without a reference kept here: reconciliation
        # frees the encounters once it has read them (the night's largest object).
        return steps.reconcile_and_export(ledger, run.take_practice(), run.workspace, on=run.on)


@task(name="awaiting", **_PLAIN)
def awaiting(run: Run) -> steps.Awaiting:
    with run.ledger() as ledger:
        return steps.awaiting(ledger, run.profile(), on=run.on)
