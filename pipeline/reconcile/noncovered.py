"""CARC 96 / RARC N130 ("non-covered", "see the plan's benefits") routed by the 271 on file.

A non-covered denial is an appeal only when the plan owes the service anyway; otherwise the
practice bills the patient, with notice (the denial and what the 271 said). By the member's
latest 271 summary (``in_network_coverage`` / ``out_of_network_coverage``, see
:mod:`pipeline.parse.coverage`) for the claim's network:

* the 271 showed benefits for that network -> ``denied_appealable``: coverage is disputed;
* no benefits (``EB*I``) and an emergency (SV109/CLM emergency flag, POS 23, 99281-99285) or
  a service at a participating facility (POS 19/21/22/24) -> ``denied_appealable``: the No
  Surprises Act makes the plan cover it;
* no benefits and the claim carries an authorization number -> ``denied_appealable``: a
  network-adequacy (gap) exception the plan granted;
* no benefits otherwise -> ``patient_responsibility``: bill the patient with notice;
* no 271 on file, or it did not say -> ``None``: the CARC's own action stands.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pipeline.parse.coverage import NOT_COVERED

__all__ = ["NON_COVERED_CARCS", "NonCoveredRoute", "route_non_covered"]

NON_COVERED_CARCS = frozenset({"96"})
PLAN_BENEFITS_RARC = "N130"
_EMERGENCY_CODES = frozenset({"99281", "99282", "99283", "99284", "99285"})
_FACILITY_POS = frozenset({"19", "21", "22", "24"})


@dataclass(frozen=True)
class NonCoveredRoute:
    flag: str  # denied_appealable | patient_responsibility
    action: str
    letter: str  # appeal letter family, "" when nothing is appealed


def route_non_covered(
    carc: str,
    remark_codes: Iterable[str],
    *,
    network_status: str,
    emergency: bool,
    places_of_service: Iterable[str],
    procedure_codes: Iterable[str],
    prior_auth_number: str,
    eligibility: Mapping[str, Any] | None,
) -> NonCoveredRoute | None:
    """The route for a CARC 96 / N130 denial, or ``None`` to keep the CARC's own action."""
    if carc not in NON_COVERED_CARCS and PLAN_BENEFITS_RARC not in set(remark_codes):
        return None
    if not eligibility:
        return None
    in_network = network_status == "in_network"
    network = "in-network" if in_network else "out-of-network"
    said = str(
        eligibility.get("in_network_coverage" if in_network else "out_of_network_coverage") or ""
    )
    if not said:
        return None
    if said != NOT_COVERED:
        return NonCoveredRoute(
            "denied_appealable",
            f"Appeal: the member's 271 shows {network} benefits; ask for the plan provision "
            "the denial relies on",
            "reconsideration",
        )
    places = set(places_of_service)
    if emergency or "23" in places or set(procedure_codes) & _EMERGENCY_CODES:
        why = "emergency services must be covered out of network (No Surprises Act)"
    elif places & _FACILITY_POS:
        why = (
            "services at a participating facility are covered at in-network cost sharing "
            "(No Surprises Act)"
        )
    elif prior_auth_number:
        why = f"the plan authorized the service ({prior_auth_number}): a network-adequacy exception"
    else:
        return NonCoveredRoute(
            "patient_responsibility",
            f"Bill the patient with notice: the 271 shows no {network} benefit (EB*I); send "
            "the denial with the statement",
            "",
        )
    return NonCoveredRoute("denied_appealable", f"Appeal: {why}", "reconsideration")
