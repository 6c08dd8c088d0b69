"""The nightly sequence with the step functions only (no Prefect), shared by the tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipeline import steps
from pipeline.build.codes import CodeSets
from pipeline.practice import Practice
from pipeline.transport import open_transport
from tests.flows.conftest import AT, ON, World


@dataclass
class Night:
    sent: list[steps.SendSummary] = field(default_factory=list)
    collected: steps.CollectSummary | None = None
    acks: steps.AckSummary | None = None
    eligibility: steps.EligibilityResult | None = None
    remit: steps.RemitSummary | None = None
    reconciled: steps.ReconcileSummary | None = None
    counts: dict[str, Any] = field(default_factory=dict)


def run_night(w: World, practice: Practice, codes: CodeSets) -> Night:
    night = Night()
    t = open_transport(w.profile)
    try:
        with w.ledger() as ledger:
            ws, p = w.workspace, w.profile
            night.sent.append(steps.send_eligibility(ledger, t, practice, ws, p, on=ON, at=AT))
            # As the nightly flow: the 271s are in before the claims are scrubbed.
            w.clearinghouse.wait_idle()
            early = steps.collect(ledger, t, ws)
            night.eligibility = steps.process_eligibility(ledger, ws)
            night.sent.append(
                steps.send_claims(ledger, t, practice, ws, p, on=ON, codes=codes, at=AT)
            )
            w.clearinghouse.wait_idle()
            night.collected = steps.collect(ledger, t, ws)
            for name in ("received", "duplicates", "refused", "attention"):
                getattr(night.collected, name)[:0] = getattr(early, name)
            night.acks = steps.process_acknowledgments(ledger, ws)
            night.eligibility.add(steps.process_eligibility(ledger, ws))
            night.remit = steps.post_remittances(ledger, ws)
            night.reconciled = steps.reconcile_and_export(ledger, practice, ws, on=ON)
            night.counts = steps.claim_counts(ledger)
    finally:
        t.close()
    return night
