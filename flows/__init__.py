"""Prefect 3 flows over :mod:`pipeline.steps`: ``eligibility``, ``claims``, ``remittance``,
``reconcile`` and ``nightly`` (which runs the four in order).

Importing this package does not import Prefect: ``flows.commands`` sets Prefect's environment
(ephemeral mode for the demo) before ``flows.nightly`` is imported.

    from flows.nightly import nightly
    nightly(on=date(2026, 11, 27), wait_seconds=30)

Deployments (``claimflow serve``) are in :mod:`flows.deployments`.
"""
