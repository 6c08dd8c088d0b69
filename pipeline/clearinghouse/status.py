"""276 -> 277: the payers' answers to claim status requests (005010X212).

The :class:`StatusBook` remembers, per payer and patient control number, what became of every
claim the simulator received (``<root>/state/claim_status.json``): the 277CA verdict and each
adjudication with its payment date, amount and trace. A request is answered as of the 276's
interchange date (never the wall clock):

- no such claim (or another payer claim number in REF*1K): ``A4:35`` not found;
- rejected on the 277CA: its category and status (e.g. ``A7:454``);
- adjudicated, payment date reached: ``F1:65`` paid, ``F2:1`` denied (CLP02 4), ``F4:1`` no
  payment forthcoming, or ``F3:1`` revised (voided: the reversal is the last word), with STC04
  charge, STC05 paid, STC06/STC08 dates and STC09 the trace;
- adjudicated, payment still to come (the second payment cycle): ``F0:3`` awaiting payment;
- accepted, not adjudicated: ``P1:20`` in process.

A 277 tells the truth even when the 835 itself was held back (the ``late`` fault): that is the
situation the practice's claim-status step exists for.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from pipeline.clearinghouse.adjudicate import Outcome
from pipeline.clearinghouse.emit import Envelope, amount
from pipeline.clearinghouse.model import StatusBatch
from pipeline.practice.records import StatusRequestRecord
from pipeline.x12.writer import TransactionWriter

__all__ = ["StatusAnswer", "StatusBook", "answer_status", "write_277"]

_ZERO = Decimal("0")


@dataclass(frozen=True, slots=True)
class StatusAnswer:
    """The payer's answer to one request (what the 277 says, and the ground truth records)."""

    request: StatusRequestRecord
    category: str
    code: str
    charge: Decimal | None = None
    paid: Decimal | None = None
    adjudicated: date | None = None
    payment_date: date | None = None
    trace: str = ""
    icn: str = ""


class StatusBook:
    """What became of each claim, by payer and patient control number (JSON under state/).

    Each claim is held as its indented JSON text, not as dicts: a third of the memory, for
    every claim of the night, and a save joins the texts into what ``json.dumps(..., indent=1,
    sort_keys=True)`` of the whole book writes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.texts: dict[str, str] = {}
        if path.exists():
            raw = json.loads(path.read_text(encoding="utf-8"))
            self.texts = {key: _text(entry) for key, entry in raw.items()}

    @staticmethod
    def key(payer_id: str, pcn: str) -> str:
        return f"{payer_id}|{pcn}"

    def record(self, outcome: Outcome, received: date) -> None:
        """An 837P's verdicts and adjudications (the latest version of a claim replaces it)."""
        touched: dict[str, dict[str, Any]] = {}
        for verdict in outcome.front_end:
            claim = verdict.claim
            touched[self.key(claim.payer_id, claim.pcn)] = {
                "charge": str(claim.total_charge),
                "received": received.isoformat(),
                "accepted": verdict.accepted,
                "category": verdict.category,
                "code": verdict.status,
                "icn": verdict.icn,
                "adjudications": [],
            }
        for payment in outcome.payments:
            for result in payment.claims:
                key = self.key(result.claim.payer_id, result.claim.pcn)
                entry = touched.get(key)
                if entry is None:
                    entry = self.get(result.claim.payer_id, result.claim.pcn)
                    if entry is None:
                        continue  # a reversal of a claim this submission did not carry
                    touched[key] = entry
                entry["adjudications"].append(
                    {
                        "date": payment.date.isoformat(),
                        "status": result.status,
                        "paid": str(result.paid),
                        "trace": payment.trace,
                        "icn": result.icn,
                    }
                )
        self.texts.update((key, _text(entry)) for key, entry in touched.items())
        self.save()

    def get(self, payer_id: str, pcn: str) -> dict[str, Any] | None:
        text = self.texts.get(self.key(payer_id, pcn))
        return json.loads(text) if text is not None else None

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            if not self.texts:
                fh.write("{}\n")
            else:
                items = (f" {_JSON_TEXT(k)}: {text}" for k, text in sorted(self.texts.items()))
                fh.write("{\n" + ",\n".join(items) + "\n}\n")
        tmp.replace(self.path)


def _text(entry: dict[str, Any]) -> str:
    """The entry as it sits one level deep in the book ``json.dumps(indent=1, sort_keys=True)``
    writes; scalars by the C encoder (the indenting encoder is pure Python, and slow)."""
    return _indented(entry, 1)


def _indented(value: Any, level: int) -> str:
    if isinstance(value, dict):
        if not value:
            return "{}"
        pad = "\n" + " " * (level + 1)
        items = [f"{pad}{_JSON_TEXT(k)}: {_indented(value[k], level + 1)}" for k in sorted(value)]
        return "{" + ",".join(items) + "\n" + " " * level + "}"
    if isinstance(value, list):
        if not value:
            return "[]"
        pad = "\n" + " " * (level + 1)
        items = [pad + _indented(item, level + 1) for item in value]
        return "[" + ",".join(items) + "\n" + " " * level + "]"
    if isinstance(value, str):
        return _JSON_TEXT(value)
    return _ENCODE(value)


# What json.dumps writes for a scalar, without the call's keyword handling.
_JSON_TEXT: Final = json.encoder.encode_basestring_ascii
_ENCODE: Final = json.JSONEncoder().encode


def answer_status(request: StatusRequestRecord, book: StatusBook, on: date) -> StatusAnswer:
    """The payer's answer to ``request`` as of ``on`` (see the module docstring)."""
    entry = book.get(request.payer_id, request.patient_control_number)
    asked_icn = request.payer_claim_control_number
    if entry is None or (asked_icn and entry["icn"] and asked_icn != entry["icn"]):
        return StatusAnswer(request, "A4", "35")
    charge = Decimal(entry["charge"])
    if not entry["accepted"]:
        return StatusAnswer(request, entry["category"], entry["code"], charge)
    icn = str(entry["icn"])
    adjudications = entry["adjudications"]
    done = [a for a in adjudications if date.fromisoformat(a["date"]) <= on]
    if not done:
        if adjudications:  # adjudicated; its payment cycle is still ahead
            return StatusAnswer(request, "F0", "3", charge, icn=icn)
        return StatusAnswer(request, "P1", "20", charge, icn=icn)
    last = done[-1]
    paid = Decimal(last["paid"])
    category, code = _finalized(last["status"], paid)
    day = date.fromisoformat(last["date"])
    return StatusAnswer(
        request, category, code, charge, paid, day, day, last["trace"], last["icn"] or icn
    )


def _finalized(clp02: str, paid: Decimal) -> tuple[str, str]:
    """STC01 for an adjudication (its CLP02 and payment): a reversal that is the last word
    (a void) is a revision, then paid, denied, or complete with nothing to pay."""
    if clp02 == "22":
        return "F3", "1"
    if paid > _ZERO:
        return "F1", "65"
    return ("F2", "1") if clp02 == "4" else ("F4", "1")


def write_277(envelope: Envelope, batch: StatusBatch, answers: list[StatusAnswer]) -> str:
    """One 277 for a 276: a transaction set per payer, a 2200D (or 2200E) per request."""
    out = io.StringIO()
    by_payer: dict[str, list[StatusAnswer]] = {}
    for ans in answers:
        by_payer.setdefault(ans.request.payer_id, []).append(ans)
    with (
        envelope.interchange(out) as isa,
        isa.group("HN", envelope.sender, envelope.receiver, "005010X212") as gs,
    ):
        for group in by_payer.values():
            with gs.transaction("277") as st:
                _one_payer(st, envelope, batch, group)
    return out.getvalue()


def _one_payer(
    st: TransactionWriter, envelope: Envelope, batch: StatusBatch, answers: list[StatusAnswer]
) -> None:
    write = st.segment
    first = answers[0].request
    reference = batch.reference or batch.interchange_control_number
    write("BHT", "0010", "08", reference, f"{envelope.now:%Y%m%d}", f"{envelope.now:%H%M}", "DG")
    write("HL", "1", None, "20", "1")
    write(
        "NM1", "PR", "2", first.payer_name or "PAYER", None, None, None, None, "PI", first.payer_id
    )
    write("HL", "2", "1", "21", "1")
    write(
        "NM1", "41", "2", batch.submitter_name or "SUBMITTER", None, None, None, None, "46",
        batch.sender_id,
    )  # fmt: skip
    hl = 2
    providers: dict[tuple[str, str], int] = {}
    for ans in answers:
        request = ans.request
        provider = (request.provider_npi, request.provider_name)
        if provider not in providers:
            hl += 1
            providers[provider] = hl
            write("HL", str(hl), "2", "19", "1")
            write("NM1", "1P", "2", request.provider_name or "PROVIDER", None, None, None, None,
                  "XX", request.provider_npi or "1234567893")  # fmt: skip
        hl += 1
        subscriber_hl = hl
        dependent = request.patient is not None
        write("HL", str(hl), str(providers[provider]), "22", "1" if dependent else "0")
        sub = request.subscriber
        write("NM1", "IL", "1", sub.last_name, sub.first_name or None, None, None, None, "MI",
              request.member_id)  # fmt: skip
        if request.patient is not None:
            hl += 1
            write("HL", str(hl), str(subscriber_hl), "23")
            patient = request.patient
            write("NM1", "QC", "1", patient.last_name, patient.first_name or None)
        _claim(write, envelope, ans)


def _claim(write: Any, envelope: Envelope, ans: StatusAnswer) -> None:
    request = ans.request
    write("TRN", "2", request.trace_number)
    money = (amount(ans.charge) if ans.charge is not None else None,
             amount(ans.paid) if ans.paid is not None else None)  # fmt: skip
    write(
        "STC", [ans.category, ans.code], f"{envelope.now:%Y%m%d}", None, *money,
        f"{ans.adjudicated:%Y%m%d}" if ans.adjudicated else None, None,
        f"{ans.payment_date:%Y%m%d}" if ans.payment_date else None, ans.trace or None,
    )  # fmt: skip
    if ans.icn:
        write("REF", "1K", ans.icn)
    write("REF", "EJ", request.patient_control_number)
    start, end = request.service_date_start, request.service_date_end
    if start == end:
        write("DTP", "472", "D8", f"{start:%Y%m%d}")
    else:
        write("DTP", "472", "RD8", f"{start:%Y%m%d}-{end:%Y%m%d}")
