"""999 Implementation Acknowledgment (005010X231A1) -> :class:`AckTransaction` rows.

One row per error of an acknowledged transaction set (AK2 loop): one per IK4 element
error, one per IK3 segment error without IK4, one for IK502-506 set errors without any
IK3, or a single row with empty error fields when the set was accepted clean. A group
rejected as a whole (AK9 without AK2) gives one row with empty transaction fields.
Business-unit context (``CTX*CLM01:<PCN>``) names the claim in ``patient_control_number``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from pipeline.parse.codes import describe
from pipeline.parse.common import FeedAll, Spool
from pipeline.parse.ta1 import ACK_STATUS
from pipeline.x12.segments import Segment

__all__ = ["Ack999Parser", "AckTransaction"]


@dataclass(slots=True)
class AckTransaction:
    """One 999 finding about one acknowledged transaction set (or group)."""

    source_file: str
    ack_control_number: str  # ST02 of the 999 itself
    functional_id: str  # AK101: GS01 of the acknowledged group
    group_control_number: str  # AK102 = our GS06
    transaction_set_id: str  # AK201
    transaction_control_number: str  # AK202 = our ST02
    implementation: str  # AK203
    status: str
    status_code: str  # IK501 (or AK901 for a group row)
    error_segment: str = ""
    segment_position: str = ""
    loop_id: str = ""
    error_element: str = ""  # e.g. CLM05-3
    element_reference: str = ""
    error_code: str = ""
    error_text: str = ""
    bad_value: str = ""
    patient_control_number: str = ""
    context: str = ""
    set_error_codes: str = ""  # IK502-506, comma-separated
    group_status: str = ""  # AK901 in words


@dataclass(slots=True)
class _SegmentError:
    segment: str
    position: str
    loop: str
    code: str
    elements: list[tuple[str, str, str, str]] = field(default_factory=list)
    context: list[str] = field(default_factory=list)
    pcn: str = ""


class Ack999Parser:
    """Feeds on 999 segments; rows of a group are released at its AK9 (or SE).

    Every row carries the group's AK9 status, known only at its end: the rows of a group
    wait in a :class:`~pipeline.parse.common.Spool` (bounded memory, spilling to a private
    temporary file), so a 999 acknowledging a million claims streams like an 835.
    """

    def __init__(self, out: list[object]) -> None:
        self.out = out
        self.dispatch = FeedAll(self.feed)
        self.rows = Spool()
        self.set: AckTransaction | None = None
        self.errors: list[_SegmentError] = []
        self.group = ("", "")
        self.sets_in_group = 0

    def start(self, seg: Segment) -> None:
        self.rows, self.set, self.errors = Spool(), None, []
        self.group, self.sets_in_group = ("", ""), 0

    def finish(self) -> None:
        pass

    def end(self, seg: Segment) -> None:
        self._close_set(None)
        self._release("")

    def feed(self, seg: Segment) -> None:
        tag = seg.elements[0]
        if tag == "AK1":
            self._close_set(None)
            self.group, self.sets_in_group = (seg[1], seg[2].strip()), 0
        elif tag == "AK2":
            self._close_set(None)
            env = seg.envelope
            self.sets_in_group += 1
            self.set = AckTransaction(
                env.source, env.transaction_control_number, self.group[0], self.group[1],
                seg[1], seg[2].strip(), seg[3], "", "",
            )  # fmt: skip
        elif tag == "IK3":
            self.errors.append(_SegmentError(seg[1], seg[2], seg[3], seg[4]))
        elif tag == "CTX":
            self._ctx(seg)
        elif tag == "IK4":
            if not self.errors:
                self.errors.append(_SegmentError("", "", "", ""))
            position = seg.composite(1)
            self.errors[-1].elements.append((".".join(position), seg[2], seg[3], seg[4]))
        elif tag == "IK5":
            self._close_set(seg)
        elif tag == "AK9":
            self._close_set(None)
            self._group_done(seg)

    def _ctx(self, seg: Segment) -> None:
        parts = seg.composite(1)
        name = parts[0] if parts else ""
        if name == "SITUATIONAL TRIGGER" or not self.errors:
            text = ":".join(seg.elements[1:])
            if self.errors:
                self.errors[-1].context.append(text)
            return
        value = parts[1] if len(parts) > 1 else ""
        self.errors[-1].context.append(f"{name}={value}")
        if name == "CLM01":
            self.errors[-1].pcn = value

    def _close_set(self, ik5: Segment | None) -> None:
        row = self.set
        if row is None:
            return
        code = ik5[1] if ik5 is not None else row.status_code
        row.status_code, row.status = code, ACK_STATUS.get(code, "")
        codes = [ik5[i] for i in range(2, 7) if ik5[i]] if ik5 is not None else []
        row.set_error_codes = ",".join(codes)
        self.rows.extend(self._error_rows(row, codes))
        self.set, self.errors = None, []

    def _error_rows(self, row: AckTransaction, codes: list[str]) -> list[AckTransaction]:
        rows: list[AckTransaction] = []
        for err in self.errors:
            base = replace(
                row, error_segment=err.segment, segment_position=err.position, loop_id=err.loop,
                patient_control_number=err.pcn, context="; ".join(err.context),
            )  # fmt: skip
            if not err.elements:
                base.error_code, base.error_text = (
                    err.code,
                    describe("ik304_segment_error", err.code),
                )
                rows.append(base)
            for position, reference, code, bad in err.elements:
                element = _element_name(err.segment, position)
                rows.append(
                    replace(base, error_element=element, element_reference=reference,
                            error_code=code, error_text=describe("ik403_element_error", code),
                            bad_value=bad)
                )  # fmt: skip
        if not rows:
            if codes:
                text = "; ".join(describe("ik5_transaction_error", c) for c in codes)
                row.error_code, row.error_text = codes[0], text
            rows.append(row)
        return rows

    def _group_done(self, seg: Segment) -> None:
        code = seg[1]
        status = {"P": "partially_accepted"}.get(code) or ACK_STATUS.get(code, "")
        if self.sets_in_group == 0:
            env = seg.envelope
            codes = [seg[i] for i in range(5, 10) if seg[i]]
            self.rows.extend(
                [AckTransaction(
                    env.source, env.transaction_control_number, self.group[0], self.group[1],
                    "", "", "", ACK_STATUS.get(code, "rejected" if code == "P" else ""), code,
                    error_code=codes[0] if codes else "",
                    error_text="; ".join(describe("ak9_group_error", c) for c in codes),
                    set_error_codes=",".join(codes),
                )]
            )  # fmt: skip
        self._release(status)

    def _release(self, group_status: str) -> None:
        if not self.rows.count:
            return

        def finish(row: AckTransaction) -> None:
            row.group_status = group_status

        self.out.append(self.rows.release(finish))
        self.rows = Spool()


def _element_name(segment: str, position: str) -> str:
    """IK401 ``5.3`` of ``CLM`` -> ``CLM05-3`` (repeat, if any, as ``#n``)."""
    parts = position.split(".")
    if not (parts[0].isascii() and parts[0].isdigit()):
        return f"{segment}{position}"
    name = f"{segment}{int(parts[0]):02d}"
    if len(parts) > 1 and parts[1]:
        name += f"-{parts[1]}"
    if len(parts) > 2 and parts[2]:
        name += f"#{parts[2]}"
    return name
