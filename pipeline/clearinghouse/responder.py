"""The responder: one inbound file in, its response files out (synchronously).

``Responder.respond(path)`` reads a 270 or 837P the practice uploaded and writes, into the
folder the practice downloads from, what a clearinghouse and its payers send back:

- 270 -> one 271 (a transaction set per inquiry);
- 276 -> one 277 (005010X212: a status per claim, from :mod:`.status`);
- 837P -> TA1 (when ISA14=1), a 999 (an AK2 per transaction set), a 277CA (a status per
  claim), then one 835 per payer payment (a second, later payment for one payer carries the
  interest, reversal/correction and recoupment);
- an unreadable file -> TA1 R (022); a reused interchange control number -> TA1 R (025).

Dates and times come from the inbound ISA (never the wall clock); randomness from the seed
and the inbound bytes; control numbers from the simulator's own counter under ``<root>/state``.
Same seed + same inputs into a fresh root = byte-identical responses.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from pipeline.clearinghouse import inbound
from pipeline.clearinghouse.adjudicate import Adjudicator, Outcome
from pipeline.clearinghouse.eligibility import answer, write_271
from pipeline.clearinghouse.emit import Envelope, write_277ca, write_835, write_999, write_ta1
from pipeline.clearinghouse.fees import FeeSchedule
from pipeline.clearinghouse.history import ClaimHistory
from pipeline.clearinghouse.members import Accumulators, MemberDirectory
from pipeline.clearinghouse.model import InquiryBatch, StatusBatch, Submission
from pipeline.clearinghouse.plans import load_plans
from pipeline.clearinghouse.status import StatusBook, answer_status, write_277
from pipeline.clearinghouse.truth import TruthWriter, outcome_records
from pipeline.errors import X12SyntaxError
from pipeline.gcpause import no_cyclic_gc
from pipeline.x12.control import FileControlNumbers

__all__ = ["DEFAULT_ID", "Faults", "Layout", "Responder"]

log = logging.getLogger(__name__)

DEFAULT_ID = "CLAIMFLOWCH"
_SAFE = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True, slots=True)
class Faults:
    """Delivery faults (the SFTP-level ones, like dropping a connection, live in sftpd).

    ``duplicate``: the first 835 of each submission is delivered twice (a second name, same
    bytes). ``late``: response kinds (``"835"``, ``"277CA"``, ...) held back until the next
    inbound file or :meth:`Responder.release_held`. ``malformed``: a cut-short copy of the first
    835 is delivered before the good one.
    """

    duplicate: bool = False
    late: frozenset[str] = frozenset()
    malformed: bool = False


@dataclass(frozen=True, slots=True)
class Layout:
    """Folders under the simulator root."""

    root: Path
    uploads: Path
    responses: Path
    others: tuple[Path, ...] = ()
    """More folders the profile names (e.g. ``archive``), created empty."""

    @property
    def state(self) -> Path:
        return self.root / "state"

    @property
    def ground_truth(self) -> Path:
        return self.root / "ground_truth"

    @property
    def held(self) -> Path:
        return self.root / "held"

    @classmethod
    def for_root(cls, root: Path, mappings_dir: Path) -> Layout:
        """``<root>/sftp`` is the SFTP root; the upload/response folders come from
        ``mappings/clearinghouses/embedded.yaml`` (``folders.outbound`` / ``folders.inbound``),
        else ``to_payer`` / ``from_payer``."""
        folders: dict[str, str] = {"outbound": "to_payer", "inbound": "from_payer"}
        profile = mappings_dir / "clearinghouses" / "embedded.yaml"
        if profile.exists():
            import yaml

            data = yaml.safe_load(profile.read_text(encoding="utf-8")) or {}
            folders.update({str(k): str(v) for k, v in (data.get("folders") or {}).items()})
        sftp = root / "sftp"
        named = {k: sftp / v.strip("/") for k, v in folders.items()}
        others = tuple(p for k, p in sorted(named.items()) if k not in ("outbound", "inbound"))
        return cls(root, named["outbound"], named["inbound"], others)


@dataclass(slots=True)
class _State:
    path: Path
    claims: set[str] = field(default_factory=set)
    interchanges: set[str] = field(default_factory=set)

    @classmethod
    def load(cls, path: Path) -> _State:
        if not path.exists():
            return cls(path)
        raw = json.loads(path.read_text(encoding="utf-8"))
        return cls(path, set(raw.get("claims", [])), set(raw.get("interchanges", [])))

    def save(self) -> None:
        # What json.dumps(data, indent=1) writes, without its pure-Python indenting encoder
        # (the claims list holds every claim of the night, saved after each file).
        lists = {"claims": sorted(self.claims), "interchanges": sorted(self.interchanges)}
        items = (f" {_json_text(k)}: {_json_list(v)}" for k, v in lists.items())
        _atomic_write(self.path, "{\n" + ",\n".join(items) + "\n}\n")


def _json_list(texts: list[str]) -> str:
    """A list of strings as ``json.dumps(..., indent=1)`` writes it one level deep."""
    if not texts:
        return "[]"
    return "[\n  " + ",\n  ".join(map(_json_text, texts)) + "\n ]"


class Responder:
    """Pure and synchronous: ``respond(path)`` returns the response files it wrote."""

    def __init__(
        self,
        root: Path,
        seed: int = 7,
        *,
        practice: Path | Any | None = None,
        mappings_dir: Path | None = None,
        faults: Faults | None = None,
        layout: Layout | None = None,
    ) -> None:
        from pipeline.settings import get_settings

        self.mappings_dir = Path(mappings_dir or get_settings().mappings_dir)
        self.root = Path(root)
        self.layout = layout or Layout.for_root(self.root, self.mappings_dir)
        self.seed = seed
        self.faults = faults or Faults()
        self.plans = load_plans(self.mappings_dir)
        self.fees = FeeSchedule.load(self.mappings_dir / "fee_schedules")
        self.members = _directory(practice, seed)
        for folder in (
            self.layout.uploads,
            self.layout.responses,
            self.layout.state,
            *self.layout.others,
        ):
            folder.mkdir(parents=True, exist_ok=True)
        self.control_numbers = FileControlNumbers(self.layout.state / "control_numbers.json")
        self.accumulators = Accumulators(self.layout.state / "accumulators.json", seed)
        self.state = _State.load(self.layout.state / "seen.json")
        self.history = ClaimHistory(self.layout.state / "adjudicated.json")
        self.status_book = StatusBook(self.layout.state / "claim_status.json")
        self.truth = TruthWriter(self.layout.ground_truth)

    # -- entry point ------------------------------------------------------------------------
    def respond(self, path: Path) -> list[Path]:
        """Answer one inbound file; returns the response files delivered now (held ones later)."""
        from pipeline.benchnight import stage

        # No cyclic collections while a file is answered: its claims, answers and records
        # hold no cycles, and each full collection walked the member file and the history
        # again (13 at 20k claims, ~15 % of the simulator's CPU).
        with stage("simulator adjudication"), self.control_numbers.batch(), no_cyclic_gc():
            return self._respond(path)

    def _respond(self, path: Path) -> list[Path]:
        path = Path(path)
        released = self.release_held()
        data = path.read_bytes()
        rng = random.Random(f"{self.seed}:{hashlib.sha256(data).hexdigest()}")
        try:
            kind = _functional_id(path)
            submission = inbound.read_submission(path) if kind == "HC" else None
            batch = inbound.read_inquiries(path) if kind == "HS" else None
            statuses = inbound.read_status_requests(path) if kind == "HR" else None
        except X12SyntaxError as exc:
            log.warning("unreadable upload %s: %s", path.name, exc)
            return released + self._reject_unreadable(path, data)
        if submission is not None:
            files = self._claims(path, submission, rng)
        elif batch is not None:
            files = self._eligibility(path, batch)
        elif statuses is not None:
            files = self._status(path, statuses)
        else:
            log.warning("upload %s holds no 270 or 837P (GS01 %r); ignored", path.name, kind)
            files = []
        self.state.save()
        return released + files

    def release_held(self) -> list[Path]:
        """Deliver the responses held back by the ``late`` fault."""
        held = self.layout.held
        if not held.exists():
            return []
        out = []
        for item in sorted(held.iterdir()):
            target = self.layout.responses / item.name
            os.replace(item, target)
            out.append(target)
        return out

    # -- 270 ----------------------------------------------------------------------------------
    def _eligibility(self, path: Path, batch: InquiryBatch) -> list[Path]:
        if self._seen_interchange(batch.sender_id, batch.interchange_control_number):
            return self._duplicate_interchange(batch.sender_id, batch)
        files = []
        if batch.ack_requested:
            files.append(self._deliver("TA1", write_ta1(self._head_envelope(batch), batch)))
        files.append(self._deliver("271", self._answer_270(path.name, batch)))
        return [f for f in files if f.parent == self.layout.responses]

    def _answer_270(self, source: str, batch: InquiryBatch, *, delivered: bool = True) -> str:
        """The 271 text for a 270; the answers go to the ground truth."""
        envelope = self._head_envelope(batch)
        answers = [answer(inquiry, self.members, self.plans) for inquiry in batch.inquiries]
        text = write_271(envelope, batch, answers, self.plans, self.accumulators)
        self.truth.append(
            [
                {
                    "record": "eligibility",
                    "source_file": source,
                    "trace_number": a.inquiry.trace,
                    "payer_id": a.inquiry.payer_id,
                    "coverage_status": a.status,
                    "reject_reason_code": a.reject_reason,
                    "file": f"271_{_isa13(text)}.x12" if delivered else "",
                }
                for a in answers
            ]
        )
        return text

    # -- real time (CORE) ---------------------------------------------------------------------
    def respond_realtime(self, data: bytes, name: str) -> tuple[str, str]:
        """Answer one real-time 270 or 276 with the batch logic: (``"271"``/``"277"``, text).

        The request is kept under ``<root>/realtime/<name>.x12``; nothing is delivered over
        SFTP. Raises :class:`X12SyntaxError` for a payload that is not a 270 or 276.
        """
        folder = self.layout.root / "realtime"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{_SAFE.sub('', name)[:80] or 'request'}.x12"
        path.write_bytes(data)
        kind = _functional_id(path)
        source = f"realtime/{path.name}"
        if kind == "HS":
            return "271", self._answer_270(source, inbound.read_inquiries(path), delivered=False)
        if kind == "HR":
            statuses = inbound.read_status_requests(path)
            return "277", self._answer_276(source, statuses, delivered=False)
        raise X12SyntaxError(
            f"GS01 {kind!r}: real time answers a 270 (HS) or a 276 (HR)", source=source
        )

    # -- 276 ----------------------------------------------------------------------------------
    def _status(self, path: Path, batch: StatusBatch) -> list[Path]:
        if self._seen_interchange(batch.sender_id, batch.interchange_control_number):
            return self._duplicate_interchange(batch.sender_id, batch)
        files = []
        if batch.ack_requested:
            files.append(self._deliver("TA1", write_ta1(self._head_envelope(batch), batch)))
        files.append(self._deliver("277", self._answer_276(path.name, batch)))
        return [f for f in files if f.parent == self.layout.responses]

    def _answer_276(self, source: str, batch: StatusBatch, *, delivered: bool = True) -> str:
        """The 277 text for a 276 (as of its ISA date); the answers go to the ground truth."""
        envelope = self._head_envelope(batch)
        on = batch.interchange_date
        answers = [answer_status(r, self.status_book, on) for r in batch.requests]
        text = write_277(envelope, batch, answers)
        self.truth.append(
            [
                {
                    "record": "claim_status",
                    "source_file": source,
                    "trace_number": a.request.trace_number,
                    "patient_control_number": a.request.patient_control_number,
                    "payer_id": a.request.payer_id,
                    "status": f"{a.category}:{a.code}",
                    "paid_amount": str(a.paid) if a.paid is not None else None,
                    "file": f"277_{_isa13(text)}.x12" if delivered else "",
                }
                for a in answers
            ]
        )
        return text

    def _head_envelope(self, head: StatusBatch | InquiryBatch | Submission) -> Envelope:
        now = _clock(head.interchange_date, head.interchange_time)
        return self._envelope(head.receiver_id, head.sender_id, now)

    # -- 837P ---------------------------------------------------------------------------------
    def _claims(self, path: Path, submission: Submission, rng: random.Random) -> list[Path]:
        if self._seen_interchange(submission.sender_id, submission.interchange_control_number):
            return self._duplicate_interchange(submission.sender_id, submission)
        now = _clock(submission.interchange_date, submission.interchange_time)
        envelope = self._envelope(submission.receiver_id, submission.sender_id, now)
        files: list[Path] = []
        if submission.ack_requested:
            files.append(self._deliver("TA1", write_ta1(envelope, submission)))
        files.append(self._deliver("999", write_999(envelope, submission)))
        adjudicator = Adjudicator(
            self.plans, self.fees, self.members, self.accumulators, self.state.claims, self.history
        )
        outcome = adjudicator.run(submission, rng, submission.interchange_date)
        self.status_book.record(outcome, submission.interchange_date)
        later = self._envelope(
            submission.receiver_id, submission.sender_id, now + dt.timedelta(days=1)
        )
        batch_id = f"CH{submission.interchange_control_number[-9:]}"
        files.append(
            self._deliver("277CA", write_277ca(later, submission, outcome.front_end, batch_id))
        )
        payments, names, deliveries = self._deliver_payments(envelope, submission, outcome)
        files.extend(payments)
        records = outcome_records(path.name, outcome, names, self.plans, self.fees)
        for delivery in deliveries:
            records.append({"record": "delivery", "source_file": path.name, **delivery})
        for f in files:
            if f.parent == self.layout.held:
                records.append(
                    {
                        "record": "delivery",
                        "source_file": path.name,
                        "fault": "late",
                        "file": f.name,
                    }
                )
        self.truth.append(records)
        return [f for f in files if f.parent == self.layout.responses]

    def _deliver_payments(
        self, envelope: Envelope, submission: Submission, outcome: Outcome
    ) -> tuple[list[Path], dict[int, str], list[dict[str, Any]]]:
        """One 835 per payment (plus the faulty deliveries): files, names by payment, faults."""
        payee = _payee(submission)
        files: list[Path] = []
        names: dict[int, str] = {}
        deliveries: list[dict[str, Any]] = []
        for number, payment in enumerate(outcome.payments):
            text = write_835(envelope, payment, self.plans[payment.payer_id], payee)
            first = number == 0
            if first and self.faults.malformed:
                bad = self._deliver("835", text[: len(text) // 2], label=f"{payment.payer_id}_CUT")
                deliveries.append({"fault": "malformed", "file": bad.name})
                files.append(bad)
            delivered = self._deliver("835", text, label=payment.payer_id)
            names[number] = delivered.name
            files.append(delivered)
            if first and self.faults.duplicate:
                label = f"{payment.payer_id}_AGAIN"
                again = self._deliver("835", text, label=label, isa=_isa13(text))
                deliveries.append({"fault": "duplicate", "file": again.name, "of": delivered.name})
                files.append(again)
        return files, names, deliveries

    # -- envelope trouble ---------------------------------------------------------------------
    def _seen_interchange(self, sender: str, control_number: str) -> bool:
        key = f"{sender}|{control_number}"
        if key in self.state.interchanges:
            return True
        self.state.interchanges.add(key)
        return False

    def _duplicate_interchange(
        self, sender: str, head: Submission | InquiryBatch | StatusBatch
    ) -> list[Path]:
        now = _clock(head.interchange_date, head.interchange_time)
        envelope = self._envelope(head.receiver_id, sender, now)
        return [self._deliver("TA1", write_ta1(envelope, head, "R", "025"))]

    def _reject_unreadable(self, path: Path, data: bytes) -> list[Path]:
        text = data.decode("latin-1")
        head = _isa_head(text)
        if head is None:
            return []
        envelope = self._envelope(
            head.receiver_id, head.sender_id, _clock(head.interchange_date, head.interchange_time)
        )
        ta1 = self._deliver("TA1", write_ta1(envelope, head, "R", "022"))
        self.truth.append(
            [
                {
                    "record": "delivery",
                    "source_file": path.name,
                    "fault": "rejected_unreadable",
                    "file": ta1.name,
                }
            ]
        )
        return [ta1]

    # -- files --------------------------------------------------------------------------------
    def _envelope(self, sender: str, receiver: str, now: dt.datetime) -> Envelope:
        return Envelope(
            self.control_numbers, sender=sender or DEFAULT_ID, receiver=receiver, now=now
        )

    def _deliver(self, kind: str, text: str, *, label: str = "", isa: str | None = None) -> Path:
        number = isa or _isa13(text)
        parts = [kind, _SAFE.sub("", label)] if label else [kind]
        name = "_".join([*parts, number]) + ".x12"
        folder = self.layout.held if kind in self.faults.late else self.layout.responses
        target = folder / name
        self.control_numbers.checkpoint()  # its numbers are never issued again
        _atomic_write(target, text)
        return target


# json.dumps of a str (ensure_ascii), without the call's keyword handling
_json_text: Final = json.encoder.encode_basestring_ascii


def _directory(practice: Path | Any | None, seed: int) -> MemberDirectory:
    if practice is None:
        return MemberDirectory([], open_world=True)
    if isinstance(practice, (str, Path)):
        from pipeline.practice import load_practice

        # Members need who was seen when, not what was charged: half the rows to read.
        # (Not under no_cyclic_gc: the first collection after it walked every row at once,
        # ~0.2 s more than the collections it saved at 20k claims.)
        practice = load_practice(Path(practice), charges=False).practice
    return MemberDirectory.from_practice(practice, seed)


def _functional_id(path: Path) -> str:
    from pipeline.x12.reader import read_segments

    for seg in read_segments(path):
        if seg.id == "GS":
            return seg[1]
    raise X12SyntaxError("no functional group (GS) in file", source=str(path))


def _clock(day: dt.date, time: str) -> dt.datetime:
    hhmm = (time or "0000").ljust(4, "0")[:4]
    return dt.datetime.combine(day, dt.time(int(hhmm[:2]) % 24, int(hhmm[2:]) % 60))


def _isa13(text: str) -> str:
    return text[90:99]


def _payee(submission: Submission) -> tuple[str, str, str]:
    for claim in submission.claims:
        if claim.billing_npi:
            return claim.billing_name or "BILLING PROVIDER", claim.billing_npi, claim.billing_tin
    return "BILLING PROVIDER", "1234567893", ""


def _isa_head(text: str) -> Submission | None:
    """Enough of a broken file's ISA to address a TA1 (None when even the ISA is unusable)."""
    text = text.lstrip("\ufeff \r\n\t")
    if not text.startswith("ISA") or len(text) < 106:
        return None
    parts = text[:106].split(text[3])
    if len(parts) < 17:
        return None
    try:
        day = dt.datetime.strptime(parts[9], "%y%m%d").date()
    except ValueError:
        return None
    return Submission(
        sender_id=parts[6].strip(),
        receiver_id=parts[8].strip(),
        interchange_control_number=parts[13],
        interchange_date=day,
        interchange_time=parts[10],
        ack_requested=parts[14] == "1",
        usage=parts[15],
        group_control_number="",
        group_sender="",
        group_receiver="",
        transactions=(),
    )


def _atomic_write(target: Path, text: str) -> None:
    """Temporary dot name then rename, so a poller never sees half a file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        fh.write(text)
    os.replace(tmp, target)
