"""``claimflow serve``: the deployments an ops engineer runs.

- ``nightly/nightly`` on a cron schedule (``CLAIMFLOW_NIGHTLY_CRON``, default 02:00, in
  ``CLAIMFLOW_TIMEZONE``);
- ``eligibility/eligibility``, ``claims/claims``, ``remittance/remittance``,
  ``reconcile/reconcile`` on demand, e.g.
  ``prefect deployment run 'nightly/nightly' --param on=2026-11-27 --param wait_seconds=600``.

``serve`` keeps running and executes the runs in this process (a Prefect server must be
reachable through ``PREFECT_API_URL``).
"""

from __future__ import annotations

from typing import Any

from prefect import serve
from prefect.schedules import Cron

from flows.nightly import FLOWS
from pipeline.settings import get_settings

__all__ = ["build_deployments", "serve_deployments"]

TAGS = ["claimflow"]


def build_deployments() -> list[Any]:
    settings = get_settings()
    out = []
    for name, flow in FLOWS.items():
        if name == "nightly":
            deployment = flow.to_deployment(
                name="nightly",
                schedules=[Cron(settings.nightly_cron, timezone=settings.timezone)],
                concurrency_limit=1,  # never two nights at once
                description=f"The nightly run ({settings.nightly_cron}, {settings.timezone}).",
                tags=TAGS,
            )
        else:
            deployment = flow.to_deployment(
                name=name, description=f"The {name} flow, on demand.", tags=TAGS
            )
        out.append(deployment)
    return out


def serve_deployments() -> None:
    """Register every deployment and execute their runs until interrupted."""
    serve(*build_deployments(), print_starting_message=True)
