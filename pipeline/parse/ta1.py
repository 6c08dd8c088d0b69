"""TA1 Interchange Acknowledgment -> :class:`AckInterchange` records (one per TA1)."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.parse.codes import describe
from pipeline.parse.common import FeedAll, iso_date
from pipeline.x12.segments import Segment

__all__ = ["ACK_STATUS", "AckInterchange", "TA1Parser"]

# TA104 / IK501 / AK901 dispositions in the words the tables use.
ACK_STATUS = {
    "A": "accepted",
    "E": "accepted_with_errors",
    "R": "rejected",
    "M": "rejected",
    "W": "rejected",
    "X": "rejected",
}


@dataclass(slots=True)
class AckInterchange:
    """One TA1: the acknowledged interchange (TA101 = our ISA13) and its disposition."""

    source_file: str
    ack_interchange_control_number: str  # ISA13 of the file carrying the TA1
    interchange_control_number: str
    interchange_date: str
    interchange_time: str
    status: str
    status_code: str
    note_code: str
    note_text: str
    segment_number: int


class TA1Parser:
    """TA1 segments sit directly in the interchange; the driver feeds each one."""

    def __init__(self, out: list[object]) -> None:
        self.out = out
        self.dispatch = FeedAll(self.feed)

    def start(self, seg: Segment) -> None:  # TA1 has no transaction set
        pass

    def end(self, seg: Segment) -> None:
        pass

    def finish(self) -> None:
        pass

    def feed(self, seg: Segment) -> None:
        env, code = seg.envelope, seg[4]
        date = seg[2]
        self.out.append(
            AckInterchange(
                env.source, env.interchange_control_number, seg[1].strip(),
                iso_date("20" + date) if len(date) == 6 and date.isdigit() else date, seg[3],
                ACK_STATUS.get(code, ""), code, seg[5], describe("ta1_note", seg[5]), seg.number,
            )
        )  # fmt: skip
