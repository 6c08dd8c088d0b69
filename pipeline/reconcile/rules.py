"""Flag rules: one row per finding (DESIGN.md § Reconciliation, ``flags`` columns).

Per effective adjudication (matched, neither a reversal nor reversed) and per line:

- a denial CARC (``denial_flag`` in ``mappings/codes/carc_actions.csv``) outside PR on a line
  paid nothing → ``denied_appealable`` / ``denied_correctable``; on a line paid in part → the
  same flag for the adjusted amount; at claim level → a claim-level flag;
- NSA-protected service (decided from data: :mod:`pipeline.reconcile.nsa`) →
  ``nsa_violation`` for balance billing (PR-45, or cost sharing above the in-network level)
  and ``payment_dispute`` when the plan allowed less than the practice's offer (open
  negotiation; the case's next deadline);
- any other line → ``underpaid`` when expected payment (expected allowed − PR cost share) −
  paid exceeds both ``underpaid_threshold_amount`` and ``underpaid_threshold_percent``;
- CARC 100 anywhere → ``paid_to_patient`` (claim level); the payment the patient got counts as
  paid for the underpayment check;
- billable PR (never PR-45 on a protected service) → ``patient_responsibility`` (claim level);
- a submitted claim with no 835 after the payer's ``response_window_days`` → ``no_response``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from pipeline.reconcile.expected import LineExpectation, cents, expect_lines
from pipeline.reconcile.matching import (
    Adjustment,
    MatchResult,
    RemitClaim,
    RemitLine,
    SubClaim,
    SubLine,
)
from pipeline.reconcile.nsa import NsaContext, NsaOutcome, Protection, check_claim
from pipeline.reconcile.reference import CodeBook, FeeSchedule, PayerProfile

__all__ = ["FLAG_COLUMNS", "RECONCILIATION_COLUMNS", "Thresholds", "evaluate"]

ZERO = Decimal(0)
HUNDRED = Decimal(100)
# PR reasons that are not cost sharing inside the allowed amount.
_NOT_COST_SHARE = {"45", "100"}
_NO_RESPONSE_SKIP = {"rejected", "scrub_failed", "ready", "closed", "written_off", "resubmitted"}

FLAG_COLUMNS = (
    # DESIGN.md (fixed)
    "patient_control_number",
    "line_control_number",
    "payer",
    "flag",
    "reason",
    "basis",
    "expected_amount",
    "paid_amount",
    "amount_at_stake",
    "deadline",
    "action",
    # more
    "claim_key",
    "trace_number",
    "payment_date",
    "procedure_code",
    "group_code",
    "carc",
    "rarc",
    "letter",
    "idr_window_start",
    "idr_window_end",
)

RECONCILIATION_COLUMNS = (
    "patient_control_number",
    "line_control_number",
    "payer_id",
    "network_status",
    "procedure_code",
    "modifiers",
    "units",
    "service_date",
    "charge_amount",
    "basis",
    "rate",
    "mppr_percent",
    "expected_allowed",
    "allowed_amount",
    "cost_share",
    "expected_payment",
    "paid_amount",
    "variance",
    "nsa_protected",
    "claim_key",
    "trace_number",
    "payment_date",
    "match_method",
    "status",
)


@dataclass(frozen=True)
class Thresholds:
    """Underpayment tolerance: a shortfall is tolerated only while it is within *both* the
    dollar and the percent threshold — $2 short of $150 is noise, $16 short of a $676
    surgery is money, and 3.8 % short on a $120 visit is a fee-schedule error."""

    amount: Decimal
    percent: Decimal

    def exceeded(self, shortfall: Decimal, expected: Decimal) -> bool:
        if shortfall <= ZERO or expected <= ZERO:
            return False
        return shortfall > self.amount or shortfall * HUNDRED / expected > self.percent


@dataclass
class _Ctx:
    payers: Mapping[str, PayerProfile]
    fees: FeeSchedule
    codes: CodeBook
    thresholds: Thresholds
    eligibility: Mapping[str, Mapping[str, Any]]
    as_of: date
    nsa_remarks: frozenset[str]
    nsa: NsaContext


def evaluate(
    match: MatchResult,
    payers: Mapping[str, PayerProfile],
    fees: FeeSchedule,
    codes: CodeBook,
    thresholds: Thresholds,
    as_of: date,
    eligibility: Mapping[str, Mapping[str, Any]] | None = None,
    nsa: NsaContext | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Flags and reconciliation rows (line level) for everything matched."""
    ctx = _Ctx(
        payers=payers,
        fees=fees,
        codes=codes,
        thresholds=thresholds,
        eligibility=eligibility or {},
        as_of=as_of,
        nsa_remarks=frozenset(k for k in codes.rarc if codes.rarc_is_nsa(k)),
        nsa=nsa or NsaContext(),
    )
    flags: list[dict[str, Any]] = []
    recon: list[dict[str, Any]] = []
    answered: set[str] = set()
    adjudicated: set[str] = set()
    for remit in match.remits:
        if remit.matched_claim:
            answered.add(remit.matched_claim)
        if remit.effective:
            adjudicated.add(remit.matched_claim)
            _evaluate_claim(ctx, remit, match.claims[remit.matched_claim], flags, recon)
    for pcn, claim in match.claims.items():
        if pcn in adjudicated:
            continue
        status = "reversed" if pcn in answered else "awaiting_remittance"
        for line in claim.lines:
            recon.append(_recon_unanswered(claim, line, status))
        if pcn in answered:
            continue
        flag = _no_response(ctx, claim)
        if flag:
            flags.append(flag)
    return flags, recon


def _payer_label(claim: SubClaim, remit: RemitClaim | None = None) -> str:
    return claim.payer_id or (remit.payer_id if remit else "")


def _flag(claim: SubClaim, remit: RemitClaim | None, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(FLAG_COLUMNS, None)
    row.update(
        patient_control_number=claim.patient_control_number,
        line_control_number="",
        payer=_payer_label(claim, remit),
        claim_key=remit.claim_key if remit else "",
        trace_number=remit.trace_number if remit else "",
        payment_date=remit.payment_date if remit else None,
        procedure_code="",
        group_code="",
        carc="",
        rarc="",
        letter="",
    )
    row.update(values)
    return row


@dataclass
class _LineEval:
    line: RemitLine
    sub: SubLine | None
    exp: LineExpectation | None
    lcn: str
    paid: Decimal  # SVC03 + what went to the patient (CARC 100)
    cost_share: Decimal  # PR inside the allowed amount
    denials: list[Adjustment]
    expected_payment: Decimal | None
    status: str = "paid"

    @property
    def whole_denial(self) -> bool:
        return bool(self.denials) and self.paid == ZERO

    @property
    def shortfall(self) -> Decimal:
        if self.expected_payment is None:
            return ZERO
        partial = sum((a.amount for a in self.denials), ZERO)  # flagged as a denial already
        return self.expected_payment - self.paid - partial


def _evaluate_claim(
    ctx: _Ctx,
    remit: RemitClaim,
    claim: SubClaim,
    flags: list[dict[str, Any]],
    recon: list[dict[str, Any]],
) -> None:
    payer = ctx.payers.get(claim.payer_id)
    subs = {ln.line_control_number: ln for ln in claim.lines}
    remarks = {ln.matched_line: ln.remark_codes for ln in remit.lines if ln.matched_line}
    protections = ctx.nsa.protections(claim, payer, remarks, ctx.nsa_remarks)
    expected = expect_lines(
        claim.as_mapping(),
        [_line_mapping(ln) for ln in claim.lines],
        payer,
        ctx.fees,
        remarks,
        ctx.nsa_remarks,
        nsa_reasons={k: p.reason for k, p in protections.items() if p.protected},
    )
    evals = [_line_eval(ctx, line, subs, expected) for line in remit.lines]
    _denials(ctx, remit, claim, payer, evals, flags)
    protected = [e for e in evals if e.sub and _protected(protections, e.lcn)]
    outcome = _nsa(ctx, remit, claim, payer, protected, protections, flags)
    _underpaid(ctx, remit, claim, payer, [e for e in evals if e not in protected], flags)
    for e in evals:
        recon.append(_recon_row(claim, remit, e))
    _claim_level(ctx, remit, claim, payer, outcome.patient_limits, flags)


def _protected(protections: Mapping[str, Protection], lcn: str) -> bool:
    found = protections.get(lcn)
    return found is not None and found.protected


def _nsa(
    ctx: _Ctx,
    remit: RemitClaim,
    claim: SubClaim,
    payer: PayerProfile | None,
    protected: list[_LineEval],
    protections: Mapping[str, Protection],
    flags: list[dict[str, Any]],
) -> NsaOutcome:
    """The NSA block: :func:`pipeline.reconcile.nsa.check_claim` turns protected lines into
    ``nsa_violation`` / ``payment_dispute`` findings and the patient's in-network limits."""
    member = claim.extras.get("member_id") or remit.member_id
    paid_on = remit.payment_date or ctx.as_of
    outcome = check_claim(
        ctx.nsa,
        claim,
        remit,
        [(e.line, e.sub, e.exp, e.whole_denial) for e in protected],
        protections,
        ctx.eligibility.get(member),
        fees=ctx.fees,
        as_of=ctx.as_of,
        appeal_deadline=_appeal_deadline(payer, paid_on),
    )
    for e in protected:
        e.status = outcome.statuses.get(e.lcn, e.status)
    for finding in outcome.findings:
        flags.append(_flag(claim, remit, **finding.columns()))
    return outcome


def _line_eval(
    ctx: _Ctx,
    line: RemitLine,
    subs: Mapping[str, SubLine],
    expected: Mapping[str, LineExpectation],
) -> _LineEval:
    sub = subs.get(line.matched_line)
    exp = expected.get(line.matched_line) if sub else None
    cost_share = _sum(line.adjustments, "PR", exclude=_NOT_COST_SHARE)
    denials = [
        a
        for a in line.adjustments
        if a.group_code != "PR"
        and a.amount > ZERO
        and ctx.codes.carc_action(a.group_code, a.reason_code).denial_flag
    ]
    allowed = exp.expected_allowed if exp else None
    return _LineEval(
        line=line,
        sub=sub,
        exp=exp,
        lcn=sub.line_control_number if sub else line.line_control_number,
        paid=line.paid_amount + _sum(line.adjustments, reasons={"100"}),
        cost_share=cost_share,
        denials=denials,
        expected_payment=None if allowed is None else max(allowed - cost_share, ZERO),
        status="paid" if sub else "unmatched_line",
    )


def _line_mapping(line: SubLine) -> dict[str, Any]:
    return {
        "line_control_number": line.line_control_number,
        "procedure_code": line.procedure_code,
        "modifiers": line.modifiers,
        "units": line.units,
        "charge_amount": line.charge_amount,
        "service_date": line.service_date,
        "place_of_service": line.place_of_service,
        "emergency": line.emergency,
    }


def _sum(
    adjs: Iterable[Adjustment],
    group: str | None = None,
    reasons: set[str] | None = None,
    exclude: set[str] | None = None,
) -> Decimal:
    total = ZERO
    for a in adjs:
        if group is not None and a.group_code != group:
            continue
        if reasons is not None and a.reason_code not in reasons:
            continue
        if exclude is not None and a.reason_code in exclude:
            continue
        total += a.amount
    return total


def _reason_words(ctx: _Ctx, adjs: Iterable[Adjustment], remark_codes: Iterable[str]) -> str:
    parts = [ctx.codes.carc_words(a.group_code, a.reason_code) for a in adjs]
    parts += [f"RARC {ctx.codes.rarc_words(r)}" for r in remark_codes]
    return "; ".join(dict.fromkeys(parts))


def _appeal_deadline(payer: PayerProfile | None, paid_on: date) -> date:
    return paid_on + timedelta(days=payer.appeal_window_days if payer else 180)


def _primary(adjs: list[Adjustment]) -> Adjustment:
    return max(adjs, key=lambda a: a.amount)


def _denials(
    ctx: _Ctx,
    remit: RemitClaim,
    claim: SubClaim,
    payer: PayerProfile | None,
    evals: list[_LineEval],
    flags: list[dict[str, Any]],
) -> None:
    """Whole claim denied for one reason → one claim-level flag; otherwise one per line."""
    for e in evals:
        if e.whole_denial:
            e.status = "denied"
    reasons = {
        (_primary(e.denials).group_code, _primary(e.denials).reason_code)
        for e in evals
        if e.denials
    }
    if evals and all(e.whole_denial for e in evals) and len(reasons) == 1:
        primary = _primary(evals[0].denials)
    else:
        primary = None
    # Authorization belongs to a service (CARC scope "line"): flagged per line regardless.
    if primary is not None and ctx.codes.carc_action(*next(iter(reasons))).scope != "line":
        at_stake = sum((e.expected_payment or _primary(e.denials).amount for e in evals), ZERO)
        expected = [e.exp.expected_allowed for e in evals if e.exp and e.exp.expected_allowed]
        remarks = tuple(dict.fromkeys(r for e in evals for r in e.line.remark_codes))
        flags.append(
            _denial_flag(
                ctx,
                remit,
                claim,
                payer,
                primary,
                "",
                None,
                at_stake,
                sum(expected, ZERO) if expected else None,
                ZERO,
                remarks,
            )
        )
        return
    for e in evals:
        if not e.denials:
            continue
        primary = _primary(e.denials)
        at_stake = (
            e.expected_payment
            if e.whole_denial and e.expected_payment is not None
            else sum((a.amount for a in e.denials), ZERO)
        )
        flags.append(
            _denial_flag(
                ctx,
                remit,
                claim,
                payer,
                primary,
                e.lcn,
                e.line,
                at_stake,
                e.exp.expected_allowed if e.exp else None,
                e.paid,
                e.line.remark_codes,
            )
        )


def _underpaid(
    ctx: _Ctx,
    remit: RemitClaim,
    claim: SubClaim,
    payer: PayerProfile | None,
    evals: list[_LineEval],
    flags: list[dict[str, Any]],
) -> None:
    """Each priced line paid short beyond the tolerance (:class:`Thresholds`). A
    multiple-procedure reduction (CO-59) on a line our policy does not reduce is flagged
    whatever its size: a rule misapplied, not a price."""
    for e in evals:
        if e.whole_denial or e.expected_payment is None or e.exp is None:
            continue
        misapplied = (
            e.exp.mppr_percent == HUNDRED and _sum(e.line.adjustments, "CO", reasons={"59"}) > ZERO
        )
        over = ctx.thresholds.exceeded(e.shortfall, e.expected_payment)
        if e.shortfall <= ZERO or not (over or misapplied):
            continue
        e.status = "underpaid"
        flags.append(_underpaid_flag(remit, claim, payer, e, misapplied))


def _underpaid_flag(
    remit: RemitClaim,
    claim: SubClaim,
    payer: PayerProfile | None,
    e: _LineEval,
    misapplied: bool,
) -> dict[str, Any]:
    exp = e.exp
    assert exp is not None and e.expected_payment is not None
    allowed = e.line.allowed_amount if e.line.allowed_amount is not None else e.paid + e.cost_share
    why = (
        "multiple-procedure reduction (CO-59) applied to a line it does not apply to; "
        if misapplied
        else ""
    )
    mppr = f" at {exp.mppr_percent}% multiple-procedure rate" if exp.mppr_percent != HUNDRED else ""
    return _flag(
        claim,
        remit,
        line_control_number=e.lcn,
        procedure_code=e.line.procedure_code,
        flag="underpaid",
        reason=(
            f"{why}paid {e.paid:.2f} against expected {e.expected_payment:.2f} ({exp.basis} "
            f"{_amount(exp.rate)} x {exp.units}{mppr} = {_amount(exp.expected_allowed)} "
            f"allowed, less patient share {e.cost_share:.2f}); payer allowed {allowed:.2f}"
        ),
        basis=exp.basis,
        expected_amount=e.expected_payment,
        paid_amount=e.paid,
        amount_at_stake=cents(e.shortfall),
        deadline=_appeal_deadline(
            payer, remit.payment_date or claim.service_date_start or date.min
        ),
        action=(
            f"Appeal the underpayment: ask {claim.payer_id} to reprocess at the "
            f"{_basis_words(exp.basis)} ({exp.expected_allowed} allowed)"
        ),
        letter="underpayment",
        carc=",".join(sorted({a.reason_code for a in e.line.adjustments if a.group_code != "PR"})),
    )


def _basis_words(basis: str) -> str:
    return {
        "contract": "contracted rate",
        "ucr": "usual, customary and reasonable (UCR) benchmark",
        "qpa": "qualifying payment amount (QPA)",
    }.get(basis, basis)


def _denial_flag(
    ctx: _Ctx,
    remit: RemitClaim,
    claim: SubClaim,
    payer: PayerProfile | None,
    primary: Adjustment,
    lcn: str,
    line: RemitLine | None,
    at_stake: Decimal,
    expected: Decimal | None,
    paid: Decimal,
    remark_codes: tuple[str, ...] = (),
) -> dict[str, Any]:
    action = ctx.codes.carc_action(primary.group_code, primary.reason_code)
    paid_on = remit.payment_date or ctx.as_of
    if action.denial_flag == "denied_appealable":
        deadline = _appeal_deadline(payer, paid_on)
    else:
        dos = claim.service_date_start or paid_on
        deadline = dos + timedelta(days=payer.timely_filing_days if payer else 365)
    return _flag(
        claim,
        remit,
        line_control_number=lcn,
        procedure_code=line.procedure_code if line else "",
        flag=action.denial_flag,
        reason=_reason_words(ctx, [primary], remark_codes),
        basis="carc",
        expected_amount=expected,
        paid_amount=paid,
        amount_at_stake=cents(at_stake),
        deadline=deadline,
        action=action.next_step or action.action,
        group_code=primary.group_code,
        carc=primary.reason_code,
        rarc=" ".join(remark_codes),
        letter=action.letter if action.denial_flag == "denied_appealable" else "",
    )


def _claim_level(
    ctx: _Ctx,
    remit: RemitClaim,
    claim: SubClaim,
    payer: PayerProfile | None,
    patient_limits: Mapping[str, Decimal],
    flags: list[dict[str, Any]],
) -> None:
    for adj in remit.adjustments:
        action = ctx.codes.carc_action(adj.group_code, adj.reason_code)
        if adj.group_code != "PR" and adj.amount > ZERO and action.denial_flag:
            flags.append(
                _denial_flag(ctx, remit, claim, payer, adj, "", None, adj.amount, None, ZERO)
            )
    everything = remit.all_adjustments()
    to_patient = _sum(everything, reasons={"100"})
    # Without an assignment (CLM08 ≠ Y) an out-of-network plan pays the member, even when
    # this time there was nothing to pay (all deductible): the patient owes the whole bill.
    no_aob = (
        not claim.aob
        and not (payer.in_network if payer else claim.network_status == "in_network")
        and any(ln.paid_amount or not _is_denied(ctx, ln) for ln in remit.lines)
    )
    if to_patient > ZERO or no_aob:
        flags.append(
            _flag(
                claim,
                remit,
                flag="paid_to_patient",
                reason=_reason_words(ctx, [a for a in everything if a.reason_code == "100"][:1], ())
                or "no assignment of benefits (CLM08 not Y): the plan pays the member",
                basis="carc",
                expected_amount=None,
                paid_amount=remit.paid_amount,
                amount_at_stake=cents(to_patient),
                deadline=None,
                action=(
                    f"Collect {cents(to_patient)} from the patient (the payer paid them)"
                    + ("; the AOB is on file: ask the payer to honor it" if claim.aob else "")
                ),
                group_code="",
                carc="100",
            )
        )
    billable = ZERO
    parts: dict[str, Decimal] = {}
    for line in remit.lines:
        line_total = ZERO
        for a in line.adjustments:
            if a.group_code != "PR" or a.reason_code == "100":
                continue
            if a.reason_code == "45" and line.line_control_number in patient_limits:
                continue  # NSA: the excess is never the patient's
            line_total += a.amount
            parts[a.reason_code] = parts.get(a.reason_code, ZERO) + a.amount
        limit = patient_limits.get(line.line_control_number)
        if limit is not None and line_total > limit:
            parts["in-network limit"] = parts.get("in-network limit", ZERO) + limit - line_total
            line_total = limit  # NSA: in-network cost sharing on the recognized amount
        billable += line_total
    for a in remit.adjustments:
        if a.group_code == "PR" and a.reason_code != "100":
            billable += a.amount
            parts[a.reason_code] = parts.get(a.reason_code, ZERO) + a.amount
    if billable > ZERO:
        words = "; ".join(
            f"PR-{code} {ctx.codes.carc_action('PR', code).description.lower()} {amt}"
            if code != "in-network limit"
            else f"less {-amt} above the in-network cost sharing (No Surprises Act)"
            for code, amt in sorted(parts.items())
        )
        flags.append(
            _flag(
                claim,
                remit,
                flag="patient_responsibility",
                reason=words,
                basis="carc",
                expected_amount=None,
                paid_amount=remit.paid_amount,
                amount_at_stake=cents(billable),
                deadline=None,
                action=f"Bill the patient {cents(billable)}",
                group_code="PR",
                carc=",".join(sorted(c for c in parts if c.isalnum())),
            )
        )


def _is_denied(ctx: _Ctx, line: RemitLine) -> bool:
    return line.paid_amount == ZERO and any(
        a.group_code != "PR"
        and a.amount > ZERO
        and ctx.codes.carc_action(a.group_code, a.reason_code).denial_flag
        for a in line.adjustments
    )


def _no_response(ctx: _Ctx, claim: SubClaim) -> dict[str, Any] | None:
    if claim.extras.get("ledger_state", "") in _NO_RESPONSE_SKIP:
        return None
    payer = ctx.payers.get(claim.payer_id)
    window = payer.response_window_days if payer else 30
    sent = claim.submitted_date or claim.service_date_end or claim.service_date_start
    if sent is None or (ctx.as_of - sent).days <= window:
        return None
    dos = claim.service_date_start or sent
    filing = dos + timedelta(days=payer.timely_filing_days if payer else 365)
    return _flag(
        claim,
        None,
        flag="no_response",
        reason=f"no 835 {(ctx.as_of - sent).days} days after submission (payer window {window})",
        basis="",
        expected_amount=None,
        paid_amount=ZERO,
        amount_at_stake=claim.charge_amount,
        deadline=filing,
        action=(
            "Check the claim status (276/277 or the payer portal); if the payer has no record, "
            f"resubmit before the timely filing limit {filing}"
        ),
    )


def _recon_row(claim: SubClaim, remit: RemitClaim, e: _LineEval) -> dict[str, Any]:
    sub, line, exp = e.sub, e.line, e.exp
    return {
        "patient_control_number": claim.patient_control_number,
        "line_control_number": e.lcn,
        "payer_id": claim.payer_id,
        "network_status": claim.network_status,
        "procedure_code": sub.procedure_code if sub else line.procedure_code,
        "modifiers": " ".join(sub.modifiers if sub else line.modifiers),
        "units": sub.units if sub else line.units,
        "service_date": sub.service_date if sub else line.service_date,
        "charge_amount": sub.charge_amount if sub else line.charge_amount,
        "basis": exp.basis if exp else "",
        "rate": exp.rate if exp else None,
        "mppr_percent": exp.mppr_percent if exp else None,
        "expected_allowed": exp.expected_allowed if exp else None,
        "allowed_amount": line.allowed_amount,
        "cost_share": e.cost_share,
        "expected_payment": e.expected_payment,
        "paid_amount": e.paid,
        "variance": None if e.expected_payment is None else e.paid - e.expected_payment,
        "nsa_protected": bool(exp and exp.nsa_reason),
        "claim_key": remit.claim_key,
        "trace_number": remit.trace_number,
        "payment_date": remit.payment_date,
        "match_method": line.match_method,
        "status": e.status,
    }


def _recon_unanswered(claim: SubClaim, line: SubLine, status: str) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(RECONCILIATION_COLUMNS)
    row.update(
        patient_control_number=claim.patient_control_number,
        line_control_number=line.line_control_number,
        payer_id=claim.payer_id,
        network_status=claim.network_status,
        procedure_code=line.procedure_code,
        modifiers=" ".join(line.modifiers),
        units=line.units,
        service_date=line.service_date,
        charge_amount=line.charge_amount,
        paid_amount=ZERO,
        nsa_protected=False,
        status=status,
        claim_key="",
        trace_number="",
        match_method="",
    )
    return row


def _amount(value: Decimal | None) -> str:
    """Dollars with two decimals for a reason text (exact: Decimal formatting, no float)."""
    return "-" if value is None else f"{value:.2f}"
