"""X12 engine: streaming reader, writer, envelopes and control numbers, validation."""

from pipeline.x12.control import FileControlNumbers
from pipeline.x12.reader import read_segments
from pipeline.x12.segments import Delimiters, Envelope, Segment
from pipeline.x12.writer import ControlNumbers, Repeated, X12Writer, format_segment

__all__ = [
    "ControlNumbers",
    "Delimiters",
    "Envelope",
    "FileControlNumbers",
    "Repeated",
    "Segment",
    "X12Writer",
    "format_segment",
    "read_segments",
]
