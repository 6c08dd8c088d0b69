"""Coordination of benefits on the 837P: which other payers a claim names, and their edits.

X222A1 2320/2330A/2330B are "required when other payers are known to potentially be
involved in paying on this claim": a primary claim names the patient's secondary (not
adjudicated yet: no AMT*D, CAS or dates); a secondary claim names the primary with
what it paid (AMT*D), its claim-level adjustments (CAS), its claim number (2330B
REF*F8) and, when it adjudicated line by line, each line's payment (2430 SVD, CAS,
DTP*573) instead of the claim-level date. OI03/OI06 come from the patient's
assignment of benefits and release of information.

:func:`cob_rules` is a scrubber rule (registered in :mod:`pipeline.build.scrub`): the
primary's EOB must belong to the primary payer, name the claim's lines and balance
(charge - adjustments = paid, per line and per claim), to the cent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal

from pipeline.build.codes import CodeSets
from pipeline.build.common import subscriber_of, up
from pipeline.build.rules import RuleCheck
from pipeline.practice.model import (
    Charge,
    ClaimAdjustment,
    Coverage,
    Encounter,
    Patient,
    Practice,
    PrimaryAdjudication,
)
from pipeline.practice.records import Adjustment, LineAdjudication, OtherPayer, Person

__all__ = ["AOB_INDICATOR", "cob_rules", "line_adjudications", "other_payers"]

AOB_INDICATOR = {"signed": "Y", "refused": "W", "missing": "N"}
"""CLM08 / OI03 from the patient's assignment of benefits."""
_PRIORITIES = ("P", "S", "T")


def _covers(coverage: Coverage, day: date) -> bool:
    return (coverage.effective_from is None or coverage.effective_from <= day) and (
        coverage.effective_to is None or day <= coverage.effective_to
    )


def _known_others(
    practice: Practice, e: Encounter, coverages: Mapping[tuple[str, str], Coverage]
) -> list[Coverage]:
    """The patient's other coverages in force on the date of service, with a payer profile."""
    found = []
    for priority in _PRIORITIES:
        coverage = coverages.get((e.patient_id, priority))
        if (
            priority != e.coverage_priority
            and coverage is not None
            and coverage.payer_id in practice.payers
            and _covers(coverage, e.service_date)
        ):
            found.append(coverage)
    return found


def other_payers(
    practice: Practice,
    e: Encounter,
    patient: Patient,
    coverages: Mapping[tuple[str, str], Coverage],
) -> tuple[OtherPayer, ...]:
    """2320/2330 for every other payer known on the date of service, in priority order."""
    out = []
    for coverage in _known_others(practice, e, coverages):
        payer = practice.payers[coverage.payer_id]
        subscriber, member_id, relationship = subscriber_of(coverage, patient)
        eob = e.primary_adjudication if coverage.priority == "P" else None
        out.append(
            OtherPayer(
                payer_id=payer.payer_id,
                payer_name=up(payer.name),
                responsibility=coverage.priority,
                claim_filing_indicator=payer.claim_filing_indicator,
                member_id=member_id,
                subscriber=Person(subscriber.last_name, subscriber.first_name),
                relationship=relationship,
                group_number=coverage.group_number or "",
                paid_amount=eob.paid_amount if eob else None,
                adjudication_date=eob.adjudication_date if eob and not eob.lines else None,
                adjustments=_adjustments(eob.adjustments) if eob else (),
                benefits_assignment=AOB_INDICATOR[patient.aob],
                release_of_information=patient.release_of_information,
                payer_claim_number=(eob.payer_claim_number or "") if eob else "",
            )
        )
    return tuple(out)


def line_adjudications(e: Encounter, charge: Charge, payer_id: str) -> tuple[LineAdjudication, ...]:
    """2430 for one line: the primary's payment of it, when it adjudicated by line."""
    eob = e.primary_adjudication
    if eob is None or not payer_id:
        return ()
    return tuple(
        LineAdjudication(
            payer_id=payer_id,
            paid_amount=line.paid_amount,
            procedure_code=line.procedure_code or charge.procedure_code,
            modifiers=tuple(charge.modifiers if line.modifiers is None else line.modifiers),
            paid_units=charge.units if line.paid_units is None else line.paid_units,
            adjudication_date=line.adjudication_date or eob.adjudication_date,
            adjustments=_adjustments(line.adjustments),
        )
        for line in eob.lines
        if line.line_number == charge.line_number
    )


def _adjustments(adjustments: Sequence[ClaimAdjustment]) -> tuple[Adjustment, ...]:
    return tuple(Adjustment(a.group_code, a.reason_code, a.amount) for a in adjustments)


# --- scrubber rule ---------------------------------------------------------------------------


def cob_rules(p: Practice, e: Encounter, c: RuleCheck, today: date, codes: CodeSets) -> None:
    """The primary EOB of a secondary claim: right payer, right lines, balanced."""
    if e.coverage_priority == "T":
        c.error(
            "coverage_priority", "cob_missing",
            "a tertiary claim needs the secondary payer's EOB too; the export has none",
        )  # fmt: skip
    for priority in _PRIORITIES:
        coverage = c.coverages.get((e.patient_id, priority))
        if priority != e.coverage_priority and coverage and coverage.payer_id not in p.payers:
            c.warning(
                "coverage.payer_id", "cob_payer_unknown",
                f"other payer {coverage.payer_id} has no profile; it is left out of 2320",
            )  # fmt: skip
    eob = e.primary_adjudication
    if eob is None or e.coverage_priority == "P":
        return
    primary = c.coverages.get((e.patient_id, "P"))
    if primary is not None and eob.payer_id != primary.payer_id:
        c.error(
            "primary_adjudication.payer_id", "cob_payer",
            f"the EOB is from {eob.payer_id}; the primary coverage is {primary.payer_id}",
        )  # fmt: skip
    _eob_lines(e, eob, c)
    _eob_balance(e, eob, c)


def _eob_lines(e: Encounter, eob: PrimaryAdjudication, c: RuleCheck) -> None:
    if not eob.lines:
        return
    billed = {ch.line_number for ch in e.charges}
    paid = {line.line_number for line in eob.lines}
    for number in sorted(paid - billed):
        c.error("primary_adjudication.lines", "cob_lines", f"EOB line {number} was not billed")
    for number in sorted(billed - paid):
        c.error(
            "primary_adjudication.lines", "cob_lines",
            f"line {number} has no EOB line (the primary adjudicated by line)",
        )  # fmt: skip


def _total(adjustments: Sequence[ClaimAdjustment]) -> Decimal:
    return sum((a.amount for a in adjustments), Decimal(0))


def _eob_balance(e: Encounter, eob: PrimaryAdjudication, c: RuleCheck) -> None:
    charges = {ch.line_number: ch.charge for ch in e.charges}
    line_adjusted = Decimal(0)
    for line in eob.lines:
        adjusted = _total(line.adjustments)
        line_adjusted += adjusted
        charge = charges.get(line.line_number)
        if charge is not None and charge - adjusted != line.paid_amount:
            c.error(
                f"primary_adjudication.lines[{line.line_number}]", "cob_balance",
                f"line charge {charge} - adjustments {adjusted} != paid {line.paid_amount}",
            )  # fmt: skip
    if eob.lines and sum((ln.paid_amount for ln in eob.lines), Decimal(0)) != eob.paid_amount:
        c.error(
            "primary_adjudication.paid_amount", "cob_balance",
            f"paid {eob.paid_amount} is not the total of the EOB lines",
        )  # fmt: skip
    adjusted = _total(eob.adjustments) + line_adjusted
    if e.line_total - adjusted != eob.paid_amount:
        c.error(
            "primary_adjudication", "cob_balance",
            f"charge {e.line_total} - adjustments {adjusted} != paid {eob.paid_amount}",
        )  # fmt: skip
