"""The payers' engine: front-end edits (277CA), adjudication (835) and the trouble they cause.

Pure and synchronous: :meth:`Adjudicator.run` takes one 837P submission and returns the
front-end verdicts and the payments. Randomness comes only from the ``rng`` it is given
(seeded by the caller from the seed and the inbound bytes), and claims are handled in file
order, so the same seed and input give the same result.

Trouble is either *natural* (the claim's own fault: no prior auth, past timely filing,
coverage ended, an EPO without out-of-network benefits, no assignment of benefits) or
*injected* (a payer mistake). Every kind in :data:`REQUIRED_KINDS` is injected at least once
per submission when no claim has it naturally and an eligible claim is left.

Replacements (CLM05-3 = 7) and voids (8) reverse the claim their REF*F8 names (from the
:class:`~pipeline.clearinghouse.history.ClaimHistory`, or rebuilt when the simulator never
issued that id) on the same payment; a replacement is then adjudicated like any claim.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from pipeline.clearinghouse.fees import FeeSchedule
from pipeline.clearinghouse.history import ClaimHistory
from pipeline.clearinghouse.members import Accumulators, MemberDirectory, Met
from pipeline.clearinghouse.model import Claim, ServiceLine, Submission
from pipeline.clearinghouse.plans import PlanDesign, Tier
from pipeline.clearinghouse.results import (
    Adjustment,
    ClaimResult,
    FrontEnd,
    LineResult,
    Payment,
    Problem,
    ProviderAdjustment,
)

__all__ = ["DENIALS", "REQUIRED_KINDS", "Adjudicator", "Outcome"]

CENT = Decimal("0.01")
ZERO = Decimal("0")

# kind -> (CAS group, CARC, RARCs)
DENIALS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "denied_197": ("CO", "197", ()),
    "denied_96": ("CO", "96", ("N130",)),
    "denied_29": ("CO", "29", ()),
    "denied_18": ("OA", "18", ()),
    "denied_50": ("CO", "50", ("N180",)),
    "denied_16": ("CO", "16", ("M76",)),
    "denied_27": ("CO", "27", ()),
}
MISSING_INFO_RARCS = (("M76",), ("N290",), ("M51", "N56"))

ADJUDICATION_KINDS = (
    "nsa_oon_cost_sharing",
    "nsa_below_qpa",
    "underpaid_wrong_fee_schedule",
    "underpaid_wrong_mppr",
    "paid_to_patient",
    "denied_197",
    "denied_96",
    "denied_29",
    "denied_18",
    "denied_50",
    "denied_16",
)
LATER_KINDS = ("plb_interest", "reversal", "plb_recoupment")
REQUIRED_KINDS = ("rejected_277ca", *ADJUDICATION_KINDS, *LATER_KINDS)
NSA_RARCS_EMERGENCY = ("N830", "N864", "N862", "N877")
NSA_RARCS_FACILITY = ("N830", "N865", "N862", "N877")
EXTRA_TROUBLE_RATE = 0.05
RESERVED_CLAIMS = 6
MIN_CLAIMS_FOR_INJECTED_REJECTION = 6


def q(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(slots=True)
class Outcome:
    """What one submission produced: 277CA verdicts and 835 payments (cycle 1 and later)."""

    front_end: list[FrontEnd]
    results: list[ClaimResult]
    payments: list[Payment]
    later_events: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class _Plan:
    kind: str | None = None
    injected: bool = False
    lines: tuple[int, ...] = ()  # line indexes a line-level denial applies to (empty = all)


class Adjudicator:
    def __init__(
        self,
        plans: dict[str, PlanDesign],
        fees: FeeSchedule,
        members: MemberDirectory,
        accumulators: Accumulators,
        seen_claims: set[str] | None = None,
        history: ClaimHistory | None = None,
    ) -> None:
        self.plans = plans
        self.fees = fees
        self.members = members
        self.accumulators = accumulators
        self.seen_claims = seen_claims if seen_claims is not None else set()
        self.history = history
        self._earlier: dict[str, ClaimResult] = {}
        self._auth: dict[tuple[str, str, str], bool] = {}

    # -- the whole submission ---------------------------------------------------------------
    def run(self, submission: Submission, rng: random.Random, received: date) -> Outcome:
        front = self._front_end(submission.claims, rng, received)
        accepted = [f for f in front if f.accepted]
        plans = self._natural(accepted, received)
        reserved = self._inject(accepted, plans, rng)
        results = [self._adjudicate(f, plans[i], rng, received) for i, f in enumerate(accepted)]
        self.accumulators.save()
        payments = self._payments(results, reserved, rng, received)
        self._remember(payments)
        return Outcome(front, results, payments)

    def _remember(self, payments: list[Payment]) -> None:
        """What a later replacement or void may refer to (reversed claims are forgotten)."""
        if self.history is None:
            return
        for payment in payments:
            for result in payment.claims:
                if result.status == "22":
                    self.history.forget(result.icn)
                else:
                    self.history.record(result)
        self.history.save()

    def _original(self, claim: Claim) -> ClaimResult | None:
        """The adjudicated claim a replacement (7) or void (8) names in REF*F8.

        An id the simulator never issued is taken as a claim paid before its time: the
        original is rebuilt from the new claim, paid as a clean claim would have been.
        None when the id belongs to another payer's claim.
        """
        if claim.frequency not in ("7", "8") or not claim.original_claim_number:
            return None
        icn = claim.original_claim_number
        original = self.history.get(icn) if self.history is not None else None
        original = original or self._earlier.get(icn)
        if original is None:
            original = self._rebuild(claim)
        return original if original.claim.payer_id == claim.payer_id else None

    def _rebuild(self, claim: Claim) -> ClaimResult:
        plan = self.plans[claim.payer_id]
        first = replace(claim, frequency="1", original_claim_number="")
        kept, self.accumulators = self.accumulators, self.accumulators.scratch()
        uncovered = not plan.in_network_payer and not plan.out_of_network.covered
        try:  # adjudicated as a clean claim would have been, without touching accumulators
            if uncovered and not first.nsa_protected:
                group, carc, rarcs = DENIALS["denied_96"]
                lines = [
                    self._denied_line(first, plan, ln, group, carc, rarcs) for ln in first.lines
                ]
            else:
                lines = [
                    self._line(first, plan, line, i, None, random.Random(0))
                    for i, line in enumerate(first.lines)
                ]
        finally:
            self.accumulators = kept
        status = "4" if all(ln.denied for ln in lines) else "1"
        original = ClaimResult(
            first, claim.original_claim_number, lines, status=status, received=claim.service_date
        )
        self._earlier[original.icn] = original
        return original

    # -- 277CA front-end edits --------------------------------------------------------------
    def _front_end(self, claims: list[Claim], rng: random.Random, received: date) -> list[FrontEnd]:
        verdicts: list[FrontEnd] = []
        icns: set[str] = set()
        for claim in claims:
            verdict = self._edit(claim)
            if verdict is None:
                icn = _icn(rng, claim.payer_id, received, icns)
                verdict = FrontEnd(claim, True, icn, "A2", "20", "PR")
            verdicts.append(verdict)
        if (
            not any(not v.accepted for v in verdicts)
            and len(claims) >= MIN_CLAIMS_FOR_INJECTED_REJECTION
        ):
            index = rng.randrange(len(claims))
            claim = claims[index]
            verdicts[index] = FrontEnd(
                claim, False, "", "A7", "454", "", "invalid_code", 1, injected=True
            )
        return verdicts

    def _edit(self, claim: Claim) -> FrontEnd | None:
        if claim.payer_id not in self.plans:
            return FrontEnd(claim, False, "", "A3", "116", "PR", "unknown_payer")
        found = self.members.lookup(
            claim.payer_id, claim.member_id, claim.last_name, claim.first_name, claim.dob
        )
        if found.member is None:
            return FrontEnd(claim, False, "", "A3", "33", "IL", "unknown_member")
        if claim.frequency in ("7", "8") and self._original(claim) is None:
            return FrontEnd(claim, False, "", "A7", "21", "", "unknown_original_claim")
        for line in claim.lines:
            if not self.fees.knows(line.procedure_code):
                return FrontEnd(claim, False, "", "A7", "454", "", "invalid_code", line.line_number)
        return None

    # -- which claim gets which trouble -----------------------------------------------------
    def _natural(self, accepted: list[FrontEnd], received: date) -> list[_Plan]:
        plans: list[_Plan] = []
        for verdict in accepted:
            claim = verdict.claim
            plan = self.plans[claim.payer_id]
            key = _claim_key(claim)
            duplicate = key in self.seen_claims and claim.frequency == "1"
            self.seen_claims.add(key)
            member = self.members.lookup(
                claim.payer_id, claim.member_id, claim.last_name, claim.first_name, claim.dob
            ).member
            pa_lines = tuple(
                i
                for i, ln in enumerate(claim.lines)
                if self._needs_auth(plan, ln.procedure_code, claim.line_pos(ln))
            )
            oon = not plan.in_network_payer
            if claim.frequency == "8":
                plans.append(_Plan("void", injected=False))
            elif member is not None and self.members.is_inactive(member, claim.service_date):
                plans.append(_Plan("denied_27"))
            elif oon and not plan.out_of_network.covered and not claim.nsa_protected:
                plans.append(_Plan("denied_96"))
            elif (received - claim.service_date).days > plan.timely_filing_days:
                plans.append(_Plan("denied_29"))
            elif duplicate:
                plans.append(_Plan("denied_18"))
            elif pa_lines and not claim.prior_auth:
                plans.append(_Plan("denied_197", lines=pa_lines))
            elif oon and claim.aob != "Y":
                plans.append(_Plan("paid_to_patient"))
            else:
                plans.append(_Plan())
        return plans

    def _inject(
        self, accepted: list[FrontEnd], plans: list[_Plan], rng: random.Random
    ) -> list[int]:
        """Give each missing kind to a seeded eligible clean claim; returns claims kept clean
        for the later payment (interest, reversal, recoupment)."""
        present = {p.kind for p in plans if p.kind}
        clean = [i for i, p in enumerate(plans) if p.kind is None]
        claims = [f.claim for f in accepted]

        def take(kind: str, candidates: list[int]) -> None:
            if kind in present or not candidates:
                return
            index = rng.choice(candidates)
            plans[index] = _Plan(kind, injected=True)
            clean.remove(index)
            present.add(kind)

        def pool(test: Callable[[Claim], bool] | None = None) -> list[int]:
            return [i for i in clean if test is None or test(claims[i])]

        nsa = self._nsa_claim
        take("nsa_oon_cost_sharing", pool(nsa))
        take("nsa_below_qpa", pool(nsa))
        take("underpaid_wrong_fee_schedule", pool(self._has_previous_rate) or pool(self._priced))
        take("underpaid_wrong_mppr", pool(lambda c: len(c.lines) >= 2 and not nsa(c)))
        take("paid_to_patient", pool(self._oon_covered))
        reserved = self._reserve(claims, clean, rng)
        for index in reserved:
            clean.remove(index)
        take("denied_197", pool(self._has_pa_procedure) or pool())
        for kind in ("denied_96", "denied_29", "denied_18", "denied_50", "denied_16"):
            take(kind, pool())
        for index in list(clean):
            if rng.random() < EXTRA_TROUBLE_RATE:
                kind = rng.choice(["denied_50", "denied_16", "underpaid_wrong_fee_schedule"])
                if kind.startswith("underpaid") and not self._priced(claims[index]):
                    continue
                plans[index] = _Plan(kind, injected=True)
                clean.remove(index)
        clean.extend(reserved)
        return reserved

    def _reserve(self, claims: list[Claim], clean: list[int], rng: random.Random) -> list[int]:
        """Clean claims of one payer (in network if possible) for the second payment's roles."""
        by_payer: dict[str, list[int]] = {}
        for i in clean:
            claim = claims[i]
            if not self._nsa_claim(claim) and claim.aob == "Y" and claim.frequency == "1":
                by_payer.setdefault(claim.payer_id, []).append(i)
        if not by_payer:
            return []
        full = sorted(p for p, v in by_payer.items() if len(v) >= 3)
        contracted = [p for p in full if self.plans[p].in_network_payer]
        most = max(len(v) for v in by_payer.values())
        payer = rng.choice(contracted or full or [p for p, v in by_payer.items() if len(v) == most])
        chosen = rng.sample(by_payer[payer], min(RESERVED_CLAIMS, len(by_payer[payer])))
        return chosen

    def _nsa_claim(self, claim: Claim) -> bool:
        return claim.nsa_protected and not self.plans[claim.payer_id].in_network_payer

    def _oon_covered(self, claim: Claim) -> bool:
        plan = self.plans[claim.payer_id]
        return not plan.in_network_payer and plan.out_of_network.covered and not claim.nsa_protected

    def _priced(self, claim: Claim) -> bool:
        return not self._nsa_claim(claim)

    def _has_previous_rate(self, claim: Claim) -> bool:
        plan = self.plans[claim.payer_id]
        if not plan.in_network_payer:
            return False
        for ln in claim.lines:
            now = self.fees.rate(
                plan.payer_id, "contract", ln.procedure_code, ln.modifiers, ln.service_date
            )
            before = self.fees.previous_rate(
                plan.payer_id, "contract", ln.procedure_code, ln.modifiers, ln.service_date
            )
            if now is not None and before is not None and before < now:
                return True
        return False

    def _has_pa_procedure(self, claim: Claim) -> bool:
        plan = self.plans[claim.payer_id]
        return any(
            self._needs_auth(plan, ln.procedure_code, claim.line_pos(ln)) for ln in claim.lines
        )

    def _needs_auth(self, plan: PlanDesign, procedure_code: str, place: str) -> bool:
        """``plan.needs_auth``, once per payer, code and place (it scans the service types)."""
        key = (plan.payer_id, procedure_code, place)
        found = self._auth.get(key)
        if found is None:
            found = self._auth[key] = plan.needs_auth(procedure_code, place)
        return found

    # -- one claim ----------------------------------------------------------------------------
    def _adjudicate(
        self, verdict: FrontEnd, plan_of: _Plan, rng: random.Random, received: date
    ) -> ClaimResult:
        claim = verdict.claim
        plan = self.plans[claim.payer_id]
        kind = plan_of.kind
        result = ClaimResult(claim, verdict.icn, [], received=received)
        original = self._original(claim)
        if kind == "void" and original is not None:
            return original.reversal()
        if kind in DENIALS:
            group, carc, rarcs = DENIALS[kind]
            if kind == "denied_16":
                rarcs = rng.choice(MISSING_INFO_RARCS)
            denied = set(plan_of.lines) if plan_of.lines else set(range(len(claim.lines)))
            for i, line in enumerate(claim.lines):
                if i in denied:
                    result.lines.append(self._denied_line(claim, plan, line, group, carc, rarcs))
                else:
                    result.lines.append(self._line(claim, plan, line, i, None, rng))
            level = "line" if plan_of.lines else "claim"
            for i in sorted(denied):
                line = claim.lines[i]
                target = result.lines[i].problems if level == "line" else result.problems
                if level == "claim" and target:
                    break
                target.append(
                    Problem(
                        kind,
                        level,
                        line.line_control_number if level == "line" else "",
                        plan_of.injected,
                        group,
                        carc,
                        rarcs,
                        amount=sum((claim.lines[j].charge for j in denied), ZERO)
                        if level == "claim"
                        else line.charge,
                    )
                )
            if len(denied) == len(claim.lines):
                result.status = "4"
            return result
        for i, line in enumerate(claim.lines):
            result.lines.append(self._line(claim, plan, line, i, kind, rng))
        if kind == "paid_to_patient":
            result.problems.append(
                Problem(
                    kind,
                    injected=plan_of.injected,
                    group="PR",
                    carc="100",
                    amount=sum(
                        (
                            a.amount
                            for ln in result.lines
                            for a in ln.adjustments
                            if a.reason == "100"
                        ),
                        ZERO,
                    ),
                    note="benefits paid to the member"
                    + (" despite CLM08=Y" if plan_of.injected else ""),
                )
            )
        return result

    def _denied_line(
        self,
        claim: Claim,
        plan: PlanDesign,
        line: ServiceLine,
        group: str,
        carc: str,
        rarcs: tuple[str, ...],
    ) -> LineResult:
        basis, rate, expected = self._price(claim, plan, line)
        return LineResult(
            line,
            basis,
            rate,
            expected,
            ZERO,
            ZERO,
            [Adjustment(group, carc, line.charge)],
            list(rarcs),
            denied=True,
        )

    def _price(
        self, claim: Claim, plan: PlanDesign, line: ServiceLine
    ) -> tuple[str, Decimal | None, Decimal]:
        basis = "contract" if plan.in_network_payer else "qpa" if claim.nsa_protected else "ucr"
        rate = self.fees.rate(
            plan.payer_id, basis, line.procedure_code, line.modifiers, line.service_date
        )
        if rate is None:
            return "default", None, q(line.charge * Decimal("0.6"))
        return basis, rate, min(line.charge, q(rate * line.units))

    def _line(
        self,
        claim: Claim,
        plan: PlanDesign,
        line: ServiceLine,
        index: int,
        kind: str | None,
        rng: random.Random,
    ) -> LineResult:
        basis, rate, expected = self._price(claim, plan, line)
        nsa = claim.nsa_protected and not plan.in_network_payer
        # NSA: in-network cost sharing and a non-billable excess, unless that is the mistake.
        in_tier = plan.in_network_payer or (nsa and kind != "nsa_oon_cost_sharing")
        rarcs: list[str] = []
        if nsa and kind != "nsa_oon_cost_sharing":
            rarcs = list(NSA_RARCS_EMERGENCY if claim.emergency else NSA_RARCS_FACILITY)
        allowed, reductions, problems = self._reprice(
            plan, line, index, kind, basis, rate, expected, rng
        )
        for problem in problems:
            if problem.kind == "nsa_below_qpa":
                problem.rarcs = tuple(rarcs)
        year = line.service_date.year
        tier = plan.in_network if in_tier else plan.out_of_network
        met = self.accumulators.get(plan, claim.member_id, year, "in" if in_tier else "oon")
        if kind == "nsa_oon_cost_sharing":  # what the in-network tier would have charged
            fair_met = _copy(self.accumulators.get(plan, claim.member_id, year, "in"))
            fair = sum(_cost_share(allowed, line.procedure_code, plan.in_network, fair_met), ZERO)
        copay, deductible, coinsurance = _cost_share(allowed, line.procedure_code, tier, met)
        patient = copay + deductible + coinsurance
        excess = line.charge - allowed - sum((r.amount for r in reductions), ZERO)
        adjustments: list[Adjustment] = []
        if excess > 0:
            adjustments.append(Adjustment("CO" if in_tier else "PR", "45", excess))
        adjustments.extend(reductions)
        for reason, share in (("1", deductible), ("2", coinsurance), ("3", copay)):
            if share > 0:
                adjustments.append(Adjustment("PR", reason, share))
        paid = allowed - patient
        if kind == "nsa_oon_cost_sharing":
            billed = patient + max(excess, ZERO)
            note = "protected service: out-of-network cost sharing, excess billed to patient"
            problems.append(
                Problem(
                    kind,
                    "line",
                    line.line_control_number,
                    group="PR",
                    carc="45",
                    expected_amount=fair,
                    actual_amount=billed,
                    amount=billed - fair,
                    note=note,
                )
            )
        if kind == "paid_to_patient" and paid > 0:
            adjustments.append(Adjustment("PR", "100", paid))
            paid = ZERO
        return LineResult(line, basis, rate, expected, allowed, paid, adjustments, rarcs, problems)

    def _reprice(
        self,
        plan: PlanDesign,
        line: ServiceLine,
        index: int,
        kind: str | None,
        basis: str,
        rate: Decimal | None,
        expected: Decimal,
        rng: random.Random,
    ) -> tuple[Decimal, list[Adjustment], list[Problem]]:
        """The allowed amount a mistaken payer uses: (allowed, extra CAS, problems)."""
        lcn = line.line_control_number
        if kind == "underpaid_wrong_fee_schedule" and rate is not None:
            before = self.fees.previous_rate(
                plan.payer_id, basis, line.procedure_code, line.modifiers, line.service_date
            )
            if before is not None and before < rate:
                wrong = min(line.charge, q(before * line.units))
                note = "paid at last period's contract rate"
            else:
                wrong = q(expected * Decimal("0.8"))
                note = "paid from a lower benchmark schedule"
            if wrong < expected:
                problem = Problem(
                    kind, "line", lcn, expected_amount=expected, actual_amount=wrong,
                    amount=expected - wrong, note=note,
                )  # fmt: skip
                return wrong, [], [problem]
        if kind == "underpaid_wrong_mppr" and index == 1:
            cut = q(expected / 2)
            problem = Problem(
                kind, "line", lcn, group="CO", carc="59", expected_amount=expected,
                actual_amount=expected - cut, amount=cut,
                note="multiple-procedure reduction applied to a line it does not apply to",
            )  # fmt: skip
            return expected - cut, [Adjustment("CO", "59", cut)], [problem]
        if kind == "nsa_below_qpa":
            allowed = q(expected * Decimal(rng.choice([75, 80, 85, 90])) / 100)
            problem = Problem(
                kind, "line", lcn, expected_amount=expected, actual_amount=allowed,
                amount=expected - allowed, note="allowed below the qualifying payment amount",
            )  # fmt: skip
            return allowed, [], [problem]
        return expected, [], []

    # -- payments -----------------------------------------------------------------------------
    def _payments(
        self, results: list[ClaimResult], reserved: list[int], rng: random.Random, received: date
    ) -> list[Payment]:
        payers = sorted({r.claim.payer_id for r in results})
        first = {p: received + timedelta(days=rng.randint(10, 20)) for p in payers}
        later = received + timedelta(days=45)
        payments = {
            p: Payment(
                p,
                1,
                first[p],
                _trace(rng, self.plans[p].payment.method),
                self.plans[p].payment.method,
            )
            for p in payers
        }
        second: Payment | None = None
        held = [results[i] for i in reserved]
        # Roles: the deferred claim must pay something (interest), the recouped one too; the
        # reversed one should carry patient share (the correction gives some back).
        paying = [r for r in held if r.paid > 0]
        deferred = paying[0] if paying else (held[0] if held else None)
        recouped = paying[1] if len(paying) > 1 else None
        others = [r for r in held if r is not deferred and r is not recouped]
        reversed_ = next((r for r in others if r.patient > 0), others[0] if others else None)
        rest = [r for r in (reversed_, recouped) if r is not None]
        if deferred is not None:
            payer = deferred.claim.payer_id
            plan = self.plans[payer]
            second = Payment(payer, 2, later, _trace(rng, plan.payment.method), plan.payment.method)
        for result in results:
            if result is deferred:
                continue
            original = self._original(result.claim) if result.status != "22" else None
            if original is not None:  # a replacement: the payer reverses the original first
                payments[result.claim.payer_id].claims.append(original.reversal())
            payments[result.claim.payer_id].claims.append(result)
        for payment in payments.values():
            if payment.amount < 0:  # reversals outweigh payments: carry the balance forward
                reference = f"{payment.payer_id}{received:%y%m%d}"
                payment.adjustments.append(ProviderAdjustment("FB", reference, payment.amount))
        out = [payments[p] for p in payers if payments[p].claims]
        if second is not None and deferred is not None:
            self._second_payment(second, deferred, rest, rng, later)
            out.append(second)
        return out

    def _second_payment(
        self,
        payment: Payment,
        deferred: ClaimResult,
        paid_earlier: list[ClaimResult],
        rng: random.Random,
        on: date,
    ) -> None:
        deferred.cycle = 2
        payment.claims.append(deferred)
        days = (on - (deferred.received or on)).days
        if deferred.paid > 0:
            interest = max(CENT, q(deferred.paid * Decimal("0.10") * days / 365))
            deferred.interest = interest
            payment.adjustments.append(ProviderAdjustment("L6", deferred.icn, -interest))
            deferred.problems.append(
                Problem(
                    "plb_interest",
                    group="PLB",
                    carc="L6",
                    amount=interest,
                    reference=deferred.icn,
                    note=f"paid {days} days after receipt with prompt-pay interest",
                )
            )
        if paid_earlier:
            original = paid_earlier[0]
            corrected = _corrected(original, rng)
            payment.claims.append(original.reversal())
            payment.claims.append(corrected)
            original.problems.append(
                Problem(
                    "reversal",
                    expected_amount=original.paid,
                    actual_amount=corrected.paid,
                    amount=corrected.paid - original.paid,
                    reference=corrected.icn,
                    note="CLP02=22 reversal of the first payment, then a corrected claim",
                )
            )
        if len(paid_earlier) > 1 and paid_earlier[1].paid > 0:
            target = paid_earlier[1]
            share = Decimal(rng.randint(20, 50)) / 100
            amount = min(q(target.paid * share), q(payment.amount / 2))  # never the whole check
            if amount > 0:
                payment.adjustments.append(ProviderAdjustment("WO", target.icn, amount))
                target.problems.append(
                    Problem(
                        "plb_recoupment",
                        group="PLB",
                        carc="WO",
                        amount=amount,
                        reference=target.icn,
                        note="overpayment recovered from this payment",
                    )
                )


def _corrected(original: ClaimResult, rng: random.Random) -> ClaimResult:
    """The re-adjudication: patient share moved back to the plan (deductible applied twice)."""
    lines = [replace(ln, adjustments=list(ln.adjustments), problems=[]) for ln in original.lines]
    for ln in lines:
        shares = [a for a in ln.adjustments if a.group == "PR" and a.reason in ("1", "2", "3")]
        if not shares:
            continue
        share = shares[0]
        delta = min(share.amount, q(Decimal(rng.randint(10, 40))))
        ln.adjustments[ln.adjustments.index(share)] = replace(share, amount=share.amount - delta)
        ln.adjustments = [a for a in ln.adjustments if a.amount != 0]
        ln.paid += delta
        break
    icn = original.icn[:-2] + f"{(int(original.icn[-2:]) + 1) % 100:02d}"
    return replace(original, icn=icn, lines=lines, problems=[], cycle=2, status="1")


def _copy(met: Met) -> Met:
    return Met(met.deductible, met.oop)


def _cost_share(
    allowed: Decimal, procedure_code: str, tier: Tier, met: Met
) -> tuple[Decimal, Decimal, Decimal]:
    """(copay, deductible, coinsurance) on ``allowed``; updates ``met``; OOP max caps the total."""
    copay = min(tier.copay_for(procedure_code), allowed)
    deductible = coinsurance = ZERO
    if copay == 0:
        deductible = min(allowed, max(ZERO, tier.deductible - met.deductible))
        coinsurance = q((allowed - deductible) * tier.coinsurance)
    if tier.oop_max > 0:
        room = max(ZERO, tier.oop_max - met.oop)
        over = copay + deductible + coinsurance - room
        for name in ("coinsurance", "deductible", "copay"):
            if over <= 0:
                break
            value = {"coinsurance": coinsurance, "deductible": deductible, "copay": copay}[name]
            cut = min(value, over)
            over -= cut
            if name == "coinsurance":
                coinsurance -= cut
            elif name == "deductible":
                deductible -= cut
            else:
                copay -= cut
    met.deductible += deductible
    met.oop += copay + deductible + coinsurance
    return copay, deductible, coinsurance


def _claim_key(claim: Claim) -> str:
    lines = ",".join(
        sorted(f"{ln.procedure_code}/{ln.service_date}/{ln.charge}" for ln in claim.lines)
    )
    return f"{claim.payer_id}|{claim.member_id.upper()}|{claim.pcn}|{lines}"


def _icn(rng: random.Random, payer_id: str, on: date, taken: set[str]) -> str:
    while True:
        icn = f"{payer_id[:2]}{on:%y%j}{rng.randrange(10**7):07d}00"
        if icn not in taken:
            taken.add(icn)
            return icn


def _trace(rng: random.Random, method: str) -> str:
    if method == "CHK":
        return f"{rng.randrange(10**7, 10**8)}"
    return f"EFT{rng.randrange(10**9, 10**10)}"
