"""Flag rules: one row per finding (DESIGN.md § Reconciliation, ``flags`` columns).

Per effective adjudication (matched, neither a reversal nor reversed) and per line:

- a denial CARC (``denial_flag`` in ``mappings/codes/carc_actions.csv``) outside PR on a line
  paid nothing → ``denied_appealable`` / ``denied_correctable``; on a line paid in part → the
  same flag for the adjusted amount; at claim level → a claim-level flag;
- NSA-protected service (decided from data: :mod:`pipeline.reconcile.nsa`) →
  ``nsa_violation`` for balance billing (PR-45, or cost sharing above the in-network level)
  and ``payment_dispute`` when the plan allowed less than the practice's offer (open
  negotiation; the case's next deadline);
- any other line → ``underpaid`` when the claim's shortfall (expected payment − paid, where
  expected payment = expected allowed − the patient's cost share recomputed on the expected
  allowed, :mod:`pipeline.reconcile.costshare`) exceeds *both* ``underpaid_threshold_amount``
  and ``underpaid_threshold_percent`` of the claim's expected payment (:class:`Thresholds`);
  then each line paid short is flagged;
- a secondary (or tertiary) claim (SBR01 S/T, 2320 with the prior payer's PR): the expected
  payment is capped by the prior payer's patient responsibility, and so is the patient's
  balance; paid beyond it → ``overpayment`` (a credit balance: e.g. processed as primary, CLP02
  not 2 and no OA-23);
- CO-45 on an out-of-network payer (no contract) outside NSA protection →
  ``misclassified_co45`` (DOMAIN.md §12 step 8);
- CARC 100 anywhere → ``paid_to_patient`` (claim level); the payment the patient got counts as
  paid for the underpayment check;
- billable PR (never PR-45 on a protected service) → ``patient_responsibility`` (claim level);
- a claim rejected at the front end (999/277CA) → ``rejected_correct_resubmit`` with the reason;
- a submitted claim with no 835 after the payer's ``response_window_days`` → ``no_response``.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from pipeline.reconcile.costshare import CostShareBook
from pipeline.reconcile.expected import LineExpectation, cents, expect_lines
from pipeline.reconcile.flags import FLAG_COLUMNS, Flag
from pipeline.reconcile.matching import (
    PRIOR_PAYER_STATUS,
    Adjustment,
    MatchResult,
    RemitClaim,
    RemitLine,
    SubClaim,
    SubLine,
)
from pipeline.reconcile.noncovered import NonCoveredRoute, route_non_covered
from pipeline.reconcile.nsa import NsaContext, NsaOutcome, Protection, check_claim
from pipeline.reconcile.reference import CodeBook, FeeSchedule, PayerProfile
from pipeline.reconcile.sharing import Pool

__all__ = [
    "FLAG_COLUMNS",
    "RECONCILIATION_COLUMNS",
    "RECONCILIATION_ROW",
    "Flag",
    "Thresholds",
    "evaluate",
    "evaluate_rows",
    "recon_dicts",
]

ZERO = Decimal(0)
HUNDRED = Decimal(100)
# PR reasons that are not cost sharing inside the allowed amount.
_NOT_COST_SHARE = {"45", "100"}
_NO_RESPONSE_SKIP = {"rejected", "scrub_failed", "ready", "closed", "written_off", "resubmitted"}

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
# A row of :func:`evaluate_rows`: the table's columns and the payer's name (its profile's).
RECONCILIATION_ROW = (*RECONCILIATION_COLUMNS, "payer_name")


@dataclass(frozen=True)
class Thresholds:
    """Underpayment tolerance, applied to a claim's shortfall against its expected payment: it
    is flagged only when it exceeds *both* the dollar and the percent threshold — $2.30 short
    of $150 is noise (under $5), $4.56 short of a $120 visit is noise too (3.8 % but under
    $5), $20 short of $170 is money (over $5 and 11.8 %), while $16 short of a $676 surgery
    (2.4 %) stays within the percent tolerance."""

    amount: Decimal
    percent: Decimal

    def exceeded(self, shortfall: Decimal, expected: Decimal) -> bool:
        if shortfall <= ZERO or expected <= ZERO:
            return False
        return shortfall > self.amount and shortfall * HUNDRED / expected > self.percent


@dataclass
class _Ctx:
    payers: Mapping[str, PayerProfile]
    fees: FeeSchedule
    codes: CodeBook
    thresholds: Thresholds
    eligibility: Mapping[str, Mapping[str, Any]]
    as_of: date
    nsa_remarks: frozenset[str]
    shares: CostShareBook
    nsa: NsaContext
    pool: Pool  # the rows' computed cells, one object per distinct value


def evaluate(
    match: MatchResult,
    payers: Mapping[str, PayerProfile],
    fees: FeeSchedule,
    codes: CodeBook,
    thresholds: Thresholds,
    as_of: date,
    eligibility: Mapping[str, Mapping[str, Any]] | None = None,
    nsa: NsaContext | None = None,
) -> tuple[list[Flag], list[dict[str, Any]]]:
    """Flags and reconciliation rows (line level, :data:`RECONCILIATION_COLUMNS`) for
    everything matched."""
    flags, rows = evaluate_rows(match, payers, fees, codes, thresholds, as_of, eligibility, nsa)
    return flags, [dict(zip(RECONCILIATION_COLUMNS, r[:-1], strict=True)) for r in rows]


def recon_dicts(
    rows: Iterable[tuple[Any, ...]],
    *,
    pcns: Container[str] | None = None,
    claim_keys: Container[str] | None = None,
) -> list[dict[str, Any]]:
    """The :func:`evaluate_rows` rows of these claims (PCNs) or adjudications (claim keys) as
    dicts by :data:`RECONCILIATION_ROW`."""
    return [
        dict(zip(RECONCILIATION_ROW, r, strict=True))
        for r in rows
        if (pcns is None or r[0] in pcns) and (claim_keys is None or r[_CLAIM_KEY] in claim_keys)
    ]


_CLAIM_KEY = RECONCILIATION_ROW.index("claim_key")


def evaluate_rows(
    match: MatchResult,
    payers: Mapping[str, PayerProfile],
    fees: FeeSchedule,
    codes: CodeBook,
    thresholds: Thresholds,
    as_of: date,
    eligibility: Mapping[str, Mapping[str, Any]] | None = None,
    nsa: NsaContext | None = None,
) -> tuple[list[Flag], list[tuple[Any, ...]]]:
    """Flags and reconciliation rows (line level) for everything matched; a row is a tuple
    in :data:`RECONCILIATION_ROW` order (a dict per row cost three times its memory)."""
    ctx = _Ctx(
        payers=payers,
        fees=fees,
        codes=codes,
        thresholds=thresholds,
        eligibility=eligibility or {},
        as_of=as_of,
        nsa_remarks=frozenset(k for k in codes.rarc if codes.rarc_is_nsa(k)),
        shares=CostShareBook(eligibility or {}),
        nsa=nsa or NsaContext(),
        pool=Pool(),
    )
    flags: list[Flag] = []
    recon: list[tuple[Any, ...]] = []
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
        rejected = claim.extras.get("ledger_state", "") == "rejected"
        status = (
            "reversed" if pcn in answered else "rejected" if rejected else "awaiting_remittance"
        )
        for line in claim.lines:
            recon.append(_recon_unanswered(ctx, claim, line, status))
        if pcn in answered:
            continue
        flag = _rejected(ctx, claim) if rejected else _no_response(ctx, claim)
        if flag:
            flags.append(flag)
    for f in flags:
        _share_cells(f, ctx.pool)
    return flags, recon


# The Flag fields each finding computes anew (texts, amounts, dates); the rest are the
# claim's and the remittance's own objects already.
_COMPUTED_FLAG_FIELDS = (
    "reason",
    "expected_amount",
    "paid_amount",
    "amount_at_stake",
    "deadline",
    "action",
    "carc",
    "rarc",
    "idr_window_start",
    "idr_window_end",
)


def _share_cells(flag: Flag, pool: Pool) -> None:
    for name in _COMPUTED_FLAG_FIELDS:
        setattr(flag, name, pool(getattr(flag, name)))


def _payer_label(claim: SubClaim, remit: RemitClaim | None = None) -> str:
    return claim.payer_id or (remit.payer_id if remit else "")


def _flag(claim: SubClaim, remit: RemitClaim | None, flag: str) -> Flag:
    """A claim-level finding with the claim's and the remittance's facts filled in."""
    return Flag(
        patient_control_number=claim.patient_control_number,
        line_control_number="",
        payer=_payer_label(claim, remit),
        flag=flag,
        reason="",
        basis="",
        expected_amount=None,
        paid_amount=None,
        amount_at_stake=None,
        deadline=None,
        action="",
        claim_key=remit.claim_key if remit else "",
        trace_number=remit.trace_number if remit else "",
        payment_date=remit.payment_date if remit else None,
    )


@dataclass
class _LineEval:
    line: RemitLine
    sub: SubLine | None
    exp: LineExpectation | None
    lcn: str
    paid: Decimal  # SVC03 + what went to the patient (CARC 100)
    cost_share: Decimal  # PR inside the allowed amount, as the payer reported it
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
    flags: list[Flag],
    recon: list[tuple[Any, ...]],
) -> None:
    payer = ctx.payers.get(claim.payer_id)
    in_network = payer.in_network if payer else claim.network_status == "in_network"
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
    member = claim.extras.get("member_id") or remit.member_id
    evals = [_line_eval(ctx, line, subs, expected, member, in_network) for line in remit.lines]
    if claim.secondary:
        _cap_secondary(claim, evals)
    _denials(ctx, remit, claim, payer, evals, flags)
    protected = [e for e in evals if e.sub and _protected(protections, e.lcn)]
    outcome = _nsa(ctx, remit, claim, payer, protected, protections, flags)
    _underpaid(ctx, remit, claim, payer, [e for e in evals if e not in protected], flags)
    if not in_network:
        _co45_out_of_network(
            ctx, remit, claim, payer, [e for e in evals if e not in protected], flags
        )
    for e in evals:
        recon.append(_recon_row(ctx, claim, remit, e))
    _claim_level(ctx, remit, claim, payer, outcome.patient_limits, flags)
    if claim.secondary:
        _overpayment(ctx, remit, claim, payer, flags)


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
    flags: list[Flag],
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
    for f in outcome.findings:
        flags.append(
            replace(
                _flag(claim, remit, f.flag),
                line_control_number=f.line_control_number,
                procedure_code=f.procedure_code,
                reason=f.reason,
                basis=f.basis,
                expected_amount=f.expected_amount,
                paid_amount=f.paid_amount,
                amount_at_stake=f.amount_at_stake,
                deadline=f.deadline,
                action=f.action,
                letter=f.letter,
                rarc=f.rarc,
            )
        )
    return outcome


def _line_eval(
    ctx: _Ctx,
    line: RemitLine,
    subs: Mapping[str, SubLine],
    expected: Mapping[str, LineExpectation],
    member: str,
    in_network: bool,
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
    paid = line.paid_amount + _sum(line.adjustments, reasons={"100"})
    share = cost_share
    if allowed is not None and exp is not None and not exp.nsa_reason:
        # The NSA check keeps the payer's own figures; everything else is priced right.
        payer_allowed = line.allowed_amount if line.allowed_amount is not None else paid + share
        share = ctx.shares.expected_share(
            allowed, line.adjustments, payer_allowed, member, in_network
        )
    return _LineEval(
        line=line,
        sub=sub,
        exp=exp,
        lcn=sub.line_control_number if sub else line.line_control_number,
        paid=paid,
        cost_share=cost_share,
        denials=denials,
        expected_payment=None if allowed is None else max(allowed - share, ZERO),
        status="paid" if sub else "unmatched_line",
    )


def _cap_secondary(claim: SubClaim, evals: list[_LineEval]) -> None:
    """A later payer owes at most what the earlier ones left to the patient: scale the lines'
    expected payments down to that cap (the last line takes the rounding)."""
    cap = claim.prior_patient_responsibility or ZERO
    priced = [e for e in evals if e.expected_payment is not None]
    total = sum((e.expected_payment or ZERO for e in priced), ZERO)
    if total <= cap:
        return
    left = cap
    for i, e in enumerate(priced):
        share = left if i == len(priced) - 1 else cents((e.expected_payment or ZERO) * cap / total)
        e.expected_payment = share
        left -= share


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
    flags: list[Flag],
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
    flags: list[Flag],
) -> None:
    """Each priced line paid short, when the claim's shortfall is beyond the tolerance
    (:class:`Thresholds`). A multiple-procedure reduction (CO-59) on a line our policy does not
    reduce is flagged whatever its size: a rule misapplied, not a price."""
    priced = [
        e
        for e in evals
        if not e.whole_denial and e.expected_payment is not None and e.exp is not None
    ]
    short = sum((e.shortfall for e in priced if e.shortfall > ZERO), ZERO)
    expected = sum((e.expected_payment or ZERO for e in priced), ZERO)
    if claim.secondary:
        # The cap is the claim's (the prior payers' PR), its split over lines an estimate: a
        # later payer is short only when the claim as a whole is.
        short = min(short, max(sum((e.shortfall for e in priced), ZERO), ZERO))
    over = ctx.thresholds.exceeded(short, expected)
    for e in priced:
        assert e.exp is not None
        misapplied = (
            e.exp.mppr_percent == HUNDRED and _sum(e.line.adjustments, "CO", reasons={"59"}) > ZERO
        )
        if e.shortfall <= ZERO or not (over or misapplied) or short <= ZERO:
            continue
        e.status = "underpaid"
        flags.append(_underpaid_flag(remit, claim, payer, e, misapplied))


def _underpaid_flag(
    remit: RemitClaim,
    claim: SubClaim,
    payer: PayerProfile | None,
    e: _LineEval,
    misapplied: bool,
) -> Flag:
    exp = e.exp
    assert exp is not None and e.expected_payment is not None
    assert exp.expected_allowed is not None
    allowed = e.line.allowed_amount if e.line.allowed_amount is not None else e.paid + e.cost_share
    why = (
        "multiple-procedure reduction (CO-59) applied to a line it does not apply to; "
        if misapplied
        else ""
    )
    mppr = f" at {exp.mppr_percent}% multiple-procedure rate" if exp.mppr_percent != HUNDRED else ""
    return replace(
        _flag(claim, remit, "underpaid"),
        line_control_number=e.lcn,
        procedure_code=e.line.procedure_code,
        reason=(
            f"{why}paid {e.paid:.2f} against expected {e.expected_payment:.2f} ({exp.basis} "
            f"{_amount(exp.rate)} x {exp.units}{mppr} = {_amount(exp.expected_allowed)} "
            f"allowed, less patient share {exp.expected_allowed - e.expected_payment:.2f} "
            f"recomputed on it); payer allowed {allowed:.2f}"
            + (
                f"; secondary: capped by the primary's patient share "
                f"{claim.prior_patient_responsibility:.2f}"
                if claim.secondary
                else ""
            )
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
) -> Flag:
    action = ctx.codes.carc_action(primary.group_code, primary.reason_code)
    flag, next_step, letter = action.denial_flag, action.next_step or action.action, action.letter
    routed = _non_covered(ctx, claim, payer, primary, remark_codes)  # CARC 96 / N130 by the 271
    if routed is not None:
        flag, next_step, letter = routed.flag, routed.action, routed.letter
    paid_on = remit.payment_date or ctx.as_of
    if flag != "denied_correctable":
        deadline = _appeal_deadline(payer, paid_on)
    else:
        dos = claim.service_date_start or paid_on
        deadline = dos + timedelta(days=payer.timely_filing_days if payer else 365)
    return replace(
        _flag(claim, remit, flag),
        line_control_number=lcn,
        procedure_code=line.procedure_code if line else "",
        reason=_reason_words(ctx, [primary], remark_codes),
        basis="carc",
        expected_amount=expected,
        paid_amount=paid,
        amount_at_stake=cents(at_stake),
        deadline=deadline,
        action=next_step,
        group_code=primary.group_code,
        carc=primary.reason_code,
        rarc=" ".join(remark_codes),
        letter=letter if flag == "denied_appealable" else "",
    )


def _non_covered(
    ctx: _Ctx,
    claim: SubClaim,
    payer: PayerProfile | None,
    primary: Adjustment,
    remark_codes: tuple[str, ...],
) -> NonCoveredRoute | None:
    member = claim.extras.get("member_id", "")
    return route_non_covered(
        primary.reason_code,
        remark_codes,
        network_status=payer.network_status if payer else claim.network_status,
        emergency=claim.emergency or any(ln.emergency for ln in claim.lines),
        places_of_service=[claim.place_of_service, *(ln.place_of_service for ln in claim.lines)],
        procedure_codes=[ln.procedure_code for ln in claim.lines],
        prior_auth_number=claim.extras.get("prior_auth_number", ""),
        eligibility=ctx.eligibility.get(member) if member else None,
    )


def _claim_level(
    ctx: _Ctx,
    remit: RemitClaim,
    claim: SubClaim,
    payer: PayerProfile | None,
    patient_limits: Mapping[str, Decimal],
    flags: list[Flag],
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
            replace(
                _flag(claim, remit, "paid_to_patient"),
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
    words = "; ".join(
        f"PR-{code} {ctx.codes.carc_action('PR', code).description.lower()} {amt}"
        if code != "in-network limit"
        else f"less {-amt} above the in-network cost sharing (No Surprises Act)"
        for code, amt in sorted(parts.items())
    )
    if claim.secondary:
        billable, words = _capped_patient_share(claim, remit, billable, words)
    if billable > ZERO:
        flags.append(
            replace(
                _flag(claim, remit, "patient_responsibility"),
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


def _capped_patient_share(
    claim: SubClaim, remit: RemitClaim, billable: Decimal, words: str
) -> tuple[Decimal, str]:
    """After a later payer the patient owes no more than the earlier payers left to them, less
    what this payer paid."""
    prior = claim.prior_patient_responsibility or ZERO
    cap = max(prior - remit.paid_amount, ZERO)
    if billable <= cap:
        return billable, words
    return cap, (
        f"{words}; capped at {cap:.2f}: the prior payer left {prior:.2f} to the patient and "
        f"this payer paid {remit.paid_amount:.2f} (SBR01 {claim.responsibility})"
    )


def _overpayment(
    ctx: _Ctx, remit: RemitClaim, claim: SubClaim, payer: PayerProfile | None, flags: list[Flag]
) -> None:
    """A later payer that paid more than the patient still owed leaves a credit balance —
    typically one that processed the claim as primary (CLP02 not 2, no OA-23)."""
    prior = claim.prior_patient_responsibility or ZERO
    credit = remit.paid_amount - prior
    if credit <= ZERO:
        return
    expected_status = PRIOR_PAYER_STATUS.get(claim.responsibility, frozenset())
    as_primary = remit.claim_status_code not in expected_status and not remit.has_adjustment(
        "OA", "23"
    )
    why = (
        f"processed as primary (CLP02 {remit.claim_status_code}, no OA-23) on a claim billed "
        f"as {'secondary' if claim.responsibility == 'S' else 'tertiary'}; "
        if as_primary
        else ""
    )
    flags.append(
        replace(
            _flag(claim, remit, "overpayment"),
            reason=(
                f"{why}paid {remit.paid_amount:.2f} where the prior payer (paid "
                f"{claim.prior_paid:.2f}) left {prior:.2f} to the patient: credit balance "
                f"{credit:.2f}"
            ),
            basis="cob",
            expected_amount=prior,
            paid_amount=remit.paid_amount,
            amount_at_stake=cents(credit),
            deadline=_appeal_deadline(payer, remit.payment_date or ctx.as_of),
            action=(
                f"Refund {claim.payer_id} the credit balance {cents(credit)} (or ask it to "
                "reprocess as secondary with the primary's payment); do not bill the patient"
            ),
            carc="23" if not as_primary else "",
        )
    )


def _co45_out_of_network(
    ctx: _Ctx,
    remit: RemitClaim,
    claim: SubClaim,
    payer: PayerProfile | None,
    evals: list[_LineEval],
    flags: list[Flag],
) -> None:
    """CO-45 says a contract binds the practice to write the excess off; out of network there
    is none (DOMAIN.md §8.1, §12 step 8): the excess is PR-45 or the payer's to pay."""
    for e in evals:
        amount = _sum(e.line.adjustments, "CO", reasons={"45"})
        if amount <= ZERO:
            continue
        flags.append(
            replace(
                _flag(claim, remit, "misclassified_co45"),
                line_control_number=e.lcn,
                procedure_code=e.line.procedure_code,
                reason=(
                    f"CO-45 {amount:.2f} on an out-of-network claim: no contract binds the "
                    "practice to write off the charge over the allowed amount"
                ),
                basis="carc",
                expected_amount=None,
                paid_amount=e.paid,
                amount_at_stake=cents(amount),
                deadline=_appeal_deadline(payer, remit.payment_date or ctx.as_of),
                action=(
                    f"Ask {claim.payer_id} to reprocess the excess {amount:.2f} as PR-45 "
                    "(billable to the patient) or pay it; do not write it off"
                ),
                group_code="CO",
                carc="45",
                rarc=" ".join(e.line.remark_codes),
                letter="reconsideration",
            )
        )


def _rejected(ctx: _Ctx, claim: SubClaim) -> Flag:
    """Rejected at the front end (999/277CA): never adjudicated, so never appealed — fixed and
    sent again as a new original before the timely filing limit."""
    payer = ctx.payers.get(claim.payer_id)
    dos = claim.service_date_start or claim.submitted_date or ctx.as_of
    filing = dos + timedelta(days=payer.timely_filing_days if payer else 365)
    reason = claim.extras.get("reject_reason", "") or "rejected at the front end (999/277CA)"
    return replace(
        _flag(claim, None, "rejected_correct_resubmit"),
        reason=reason,
        basis="",
        paid_amount=ZERO,
        amount_at_stake=claim.charge_amount,
        deadline=filing,
        action=(
            "Correct the claim per the rejection and send it again as a new original "
            f"(frequency 1) before the timely filing limit {filing}; a rejected claim is not "
            "appealed"
        ),
    )


def _is_denied(ctx: _Ctx, line: RemitLine) -> bool:
    return line.paid_amount == ZERO and any(
        a.group_code != "PR"
        and a.amount > ZERO
        and ctx.codes.carc_action(a.group_code, a.reason_code).denial_flag
        for a in line.adjustments
    )


def _no_response(ctx: _Ctx, claim: SubClaim) -> Flag | None:
    if claim.extras.get("ledger_state", "") in _NO_RESPONSE_SKIP:
        return None
    payer = ctx.payers.get(claim.payer_id)
    window = payer.response_window_days if payer else 30
    sent = claim.submitted_date or claim.service_date_end or claim.service_date_start
    if sent is None or (ctx.as_of - sent).days <= window:
        return None
    dos = claim.service_date_start or sent
    filing = dos + timedelta(days=payer.timely_filing_days if payer else 365)
    return replace(
        _flag(claim, None, "no_response"),
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


def _payer_name(ctx: _Ctx, claim: SubClaim) -> str:
    profile = ctx.payers.get(claim.payer_id)
    return profile.name if profile else ""


def _recon_row(ctx: _Ctx, claim: SubClaim, remit: RemitClaim, e: _LineEval) -> tuple[Any, ...]:
    sub, line, exp = e.sub, e.line, e.exp
    pool = ctx.pool
    money = pool.amounts
    return (  # RECONCILIATION_ROW
        claim.patient_control_number,
        e.lcn,
        claim.payer_id,
        claim.network_status,
        sub.procedure_code if sub else line.procedure_code,
        pool(" ".join(sub.modifiers if sub else line.modifiers)),
        sub.units if sub else line.units,
        sub.service_date if sub else line.service_date,
        sub.charge_amount if sub else line.charge_amount,
        exp.basis if exp else "",
        money.opt(exp.rate) if exp else None,
        money.opt(exp.mppr_percent) if exp else None,
        money.opt(exp.expected_allowed) if exp else None,
        line.allowed_amount,
        money(e.cost_share),
        money.opt(e.expected_payment),
        money(e.paid),
        None if e.expected_payment is None else money(e.paid - e.expected_payment),
        bool(exp and exp.nsa_reason),
        remit.claim_key,
        remit.trace_number,
        remit.payment_date,
        line.match_method,
        e.status,
        _payer_name(ctx, claim),
    )


def _recon_unanswered(ctx: _Ctx, claim: SubClaim, line: SubLine, status: str) -> tuple[Any, ...]:
    """A submitted line no effective adjudication answers: unpriced (None), unpaid."""
    return (  # RECONCILIATION_ROW
        claim.patient_control_number,
        line.line_control_number,
        claim.payer_id,
        claim.network_status,
        line.procedure_code,
        ctx.pool(" ".join(line.modifiers)),
        line.units,
        line.service_date,
        line.charge_amount,
        None,  # basis
        None,  # rate
        None,  # mppr_percent
        None,  # expected_allowed
        None,  # allowed_amount
        None,  # cost_share
        None,  # expected_payment
        ZERO,  # paid_amount
        None,  # variance
        False,  # nsa_protected
        "",  # claim_key
        "",  # trace_number
        None,  # payment_date
        "",  # match_method
        status,
        _payer_name(ctx, claim),
    )


def _amount(value: Decimal | None) -> str:
    """Dollars with two decimals for a reason text (exact: Decimal formatting, no float)."""
    return "-" if value is None else f"{value:.2f}"
