from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from pipeline.reconcile import ReconcileResult, Thresholds, reconcile
from tests.reconcile import scenario


@pytest.fixture(scope="session")
def result() -> ReconcileResult:
    return scenario_result()


def scenario_result(**options: Any) -> ReconcileResult:
    """The scenario reconciled (``options``: more of :func:`reconcile`'s arguments)."""
    return reconcile(
        scenario.remittance().tables(),
        scenario.submitted(),
        scenario.fee_schedule(),
        scenario.payers(),
        as_of=scenario.AS_OF,
        eligibility=scenario.eligibility(),
        appointments=scenario.appointments(),
        codes=scenario.codes(),
        thresholds=Thresholds(Decimal("5.00"), Decimal("3")),
        nsa_reference=scenario.nsa_reference(),
        practice={
            "name": "Demo Orthopedics LLC",
            "npi": "1234567893",
            "tax_id": "123456789",
            "address": "100 Main St, Anytown NY 10001",
            "phone": "555-555-1234",
        },
        **options,
    )
