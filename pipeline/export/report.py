"""``report.html``: one self-contained page for finance (inline CSS and SVG, no scripts, no CDN).

Totals, the deposits that tie to the bank, paid vs expected by payer, denials by CARC,
insurance and patient A/R, NSA deadlines coming up, the top of the appeal worklist and what to
review. Template: ``mappings/templates/report.html.j2``, one include per section
(in :data:`REPORT_SECTIONS` order): a new section is a template file and a name in that
list. The as-of date is the run's business date.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.export.charts import PALETTE, Series, grouped_bars, stacked_bars
from pipeline.export.nsa_report import nsa_report_context
from pipeline.export.templating import environment
from pipeline.reconcile.aging import AGING_BUCKETS
from pipeline.reconcile.inputs import records

__all__ = ["REPORT_SECTIONS", "render_report", "report_context"]

REPORT_SECTIONS = (
    "report/kpis.html.j2",
    "report/deposits.html.j2",
    "report/payers_denials.html.j2",
    "report/ar.html.j2",
    "report_nsa.html.j2",  # NSA cases (pipeline/export/nsa_report.py)
    "report/worklist.html.j2",
    "report_appeals.html.j2",  # appeal outcomes
    "report/review.html.j2",
)

ZERO = Decimal(0)
_BUCKET_LABELS = {
    "0_30": "0–30 days",
    "31_60": "31–60",
    "61_90": "61–90",
    "91_120": "91–120",
    "120_plus": "over 120",
}


def _by_carc(denials: pd.DataFrame) -> list[dict[str, Any]]:
    groups: dict[str, dict[str, Any]] = {}
    for row in records(denials):
        key = f"{row['group_code']}-{row['carc']}"
        g = groups.setdefault(
            key,
            {
                "code": key,
                "words": str(row["reason"]).split(";")[0],
                "count": 0,
                "amount": ZERO,
                "flag": row["flag"],
            },
        )
        g["count"] += 1
        g["amount"] += row["amount_at_stake"] or ZERO
    return sorted(groups.values(), key=lambda g: (-g["amount"], g["code"]))


_FLAG_ORDER = (
    "underpaid",
    "nsa_violation",
    "payment_dispute",
    "denied_appealable",
    "denied_correctable",
    "rejected_correct_resubmit",
    "overpayment",
    "misclassified_co45",
    "paid_to_patient",
    "patient_responsibility",
    "no_response",
)


def _flag_rows(flags: pd.DataFrame) -> list[dict[str, Any]]:
    """Count and dollars at stake per flag, in the report's order (one pass over two columns,
    not a row dict per flag per kind)."""
    totals: dict[str, list[Any]] = {name: [0, ZERO] for name in _FLAG_ORDER}
    if len(flags):
        amounts = flags["amount_at_stake"]
        rows = zip(flags["flag"].tolist(), amounts.tolist(), amounts.isna().tolist(), strict=True)
        for flag, amount, missing in rows:
            total = totals.get(flag)
            if total is not None:
                total[0] += 1
                total[1] += ZERO if missing else (amount or ZERO)
    return [{"flag": name, "count": n, "amount": amount} for name, (n, amount) in totals.items()]


def report_context(result: Any) -> dict[str, Any]:
    tables: Mapping[str, pd.DataFrame] = result.tables
    summary: dict[str, Any] = result.summary
    by_payer = summary.get("by_payer", [])
    payer_names = [p["payer"] for p in by_payer]
    paid_vs_expected = grouped_bars(
        "Paid vs expected by payer",
        payer_names,
        [
            Series("Expected payment", [p["expected"] for p in by_payer], PALETTE[0]),
            Series("Paid", [p["paid"] for p in by_payer], PALETTE[1]),
        ],
    )
    carcs = _by_carc(tables["denials"])
    denials_chart = grouped_bars(
        "Denials by CARC (amount at stake)",
        [f"{c['code']} ({c['count']})" for c in carcs],
        [Series("Amount at stake", [c["amount"] for c in carcs], PALETTE[3])],
    )
    aging = [r for r in records(tables["ar_aging"]) if r["payer_id"] != "TOTAL"]
    aging_chart = stacked_bars(
        "Insurance A/R aging by payer",
        [r["payer_id"] for r in aging],
        [
            *(
                Series(_BUCKET_LABELS[b], [r[b] for r in aging], PALETTE[i % len(PALETTE)])
                for i, b in enumerate(AGING_BUCKETS)
            ),
            Series("Denied – in appeal", [r["denied_in_appeal"] for r in aging], "#c9a227"),
        ],
    )
    flags = tables["flags"]
    nsa = sorted(
        records(flags[flags["flag"] == "nsa_violation"]) if len(flags) else [],
        key=lambda r: (r["deadline"], r["patient_control_number"]),
    )
    for r in nsa:
        r["days_left"] = (r["deadline"] - result.as_of).days
    flag_rows = _flag_rows(flags)
    expected_total = sum((p["expected"] for p in by_payer), ZERO)
    period = getattr(result, "period", None)
    return {
        "sections": REPORT_SECTIONS,
        "period": period.label() if period is not None else "",
        "deposits": records(tables["deposits"]),
        "patient_aging": records(tables["patient_ar_aging"]),
        "duplicates": records(tables["duplicate_remittance"]),
        "review": records(tables["review_items"]),
        "as_of": result.as_of,
        "practice": result.practice,
        "summary": summary,
        "expected_total": expected_total,
        "charts": {
            "paid_vs_expected": paid_vs_expected,
            "denials": denials_chart,
            "aging": aging_chart,
        },
        "carcs": carcs,
        "aging": records(tables["ar_aging"]),
        "buckets": [(b, _BUCKET_LABELS[b]) for b in AGING_BUCKETS],
        "nsa": nsa,
        "worklist": records(tables["appeal_worklist"].head(12)),
        "worklist_count": len(tables["appeal_worklist"]),
        "balance": records(tables["payment_balance"]),
        "flag_rows": flag_rows,
        "unmatched": records(tables["unmatched"]),
        "by_payer": by_payer,
    }


def render_report(result: Any, out_path: Path, templates: Path | None = None) -> Path:
    """Write ``report.html`` for a ReconcileResult."""
    from markupsafe import Markup

    context = report_context(result)
    context.update(nsa_report_context(result))  # NSA cases, appeal outcomes (nsa_report.py)
    context["charts"] = {k: Markup(v) for k, v in context["charts"].items()}
    html = environment(templates).get_template("report.html.j2").render(**context)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(html, encoding="utf-8")
    return out_path
