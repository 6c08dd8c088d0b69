"""The ``pipeline`` loggers in Prefect's run logs.

Prefect sends only its own loggers to the API. The ``pipeline`` logger gets an API handler that
sends its records (INFO and up: connections, retries, skipped files) to the flow or task run
they happen in; outside a run they are not sent (no warning). The console keeps showing only
what ``PREFECT_LOGGING_LEVEL`` lets through, so the demo's progress display stays clean.
Messages carry file names, counts and states — never field values (STYLE.md: no PHI in logs).
"""

from __future__ import annotations

import logging

from prefect.context import FlowRunContext, TaskRunContext
from prefect.logging.handlers import APILogHandler, PrefectConsoleHandler

__all__ = ["PIPELINE_LOGGER", "bridge_pipeline_logs"]

PIPELINE_LOGGER = "pipeline"


class _InRun(logging.Filter):
    """Only records emitted inside a flow or task run (the API needs a run to file them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return FlowRunContext.get() is not None or TaskRunContext.get() is not None


class _ConsoleLevel(logging.Filter):
    """Keeps Prefect's console at its configured level for ``pipeline`` records."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == PIPELINE_LOGGER or record.name.startswith(PIPELINE_LOGGER + "."):
            return record.levelno >= self.level
        return True


class _PipelineRunLogs(APILogHandler):
    """Our API handler (a class of its own, so bridging twice adds it once)."""


def bridge_pipeline_logs() -> None:
    """Idempotent: safe to call at every flow start and in every worker process."""
    logger = logging.getLogger(PIPELINE_LOGGER)
    if not any(isinstance(h, _PipelineRunLogs) for h in logger.handlers):
        handler = _PipelineRunLogs(level=logging.INFO)
        handler.addFilter(_InRun())
        logger.addHandler(handler)
    console_level = logging.getLogger("prefect.extra").getEffectiveLevel()
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)
    for console in logging.getLogger().handlers:
        if isinstance(console, PrefectConsoleHandler) and not any(
            isinstance(f, _ConsoleLevel) for f in console.filters
        ):
            console.addFilter(_ConsoleLevel(console_level))
