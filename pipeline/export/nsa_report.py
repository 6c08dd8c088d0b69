"""The report's No Surprises Act and appeal-outcome blocks (``report_nsa.html.j2`` and
``report_appeals.html.j2``, included by ``report.html.j2``): their context, built from the
``nsa_cases``, ``flags``, ``denial_trends`` and ``appeal_outcomes`` tables."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from pipeline.reconcile.inputs import records

__all__ = ["nsa_report_context"]


def nsa_report_context(result: Any) -> dict[str, Any]:
    tables: Mapping[str, pd.DataFrame] = result.tables
    empty = pd.DataFrame()
    cases = records(tables.get("nsa_cases", empty))
    for case in cases:
        deadline = case.get("next_deadline")
        case["days_left"] = (deadline - result.as_of).days if deadline else None
    cases.sort(key=lambda c: (c["next_deadline"] is None, c["next_deadline"] or result.as_of))
    flags = tables.get("flags", empty)
    violations = sorted(
        records(flags[flags["flag"] == "nsa_violation"]) if len(flags) else [],
        key=lambda f: (f["deadline"] or result.as_of, f["patient_control_number"]),
    )
    return {
        "nsa_report": {
            "cases": cases,
            "violations": violations,
            "denial_trends": records(tables.get("denial_trends", empty)),
            "outcomes": records(tables.get("appeal_outcomes", empty)),
        }
    }
