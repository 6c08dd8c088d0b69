"""The one shape for every problem found in a file: validation errors and balancing failures.

The same rows make the ``problems`` table of ``claimflow parse`` (DESIGN.md § Tables) and the
error lines of ``claimflow validate``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["PROBLEM_COLUMNS", "Problem"]

PROBLEM_COLUMNS = [
    "source_file",
    "transaction_control_number",
    "level",
    "key",
    "rule",
    "expected",
    "actual",
    "message",
]


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding. ``level``: interchange | group | transaction | claim | line.

    ``rule`` names the check (``claim_balance``, ``line_balance``, ``transaction_balance``,
    ``se_count``, ``ig`` for pyx12 findings, ...). ``key`` identifies the thing checked (a
    control number, a patient control number, ``PCN/line``). Position fields say where.
    """

    source_file: str
    transaction_control_number: str
    level: str
    key: str
    rule: str
    expected: str
    actual: str
    message: str
    segment_number: int | None = None
    segment_id: str = ""
    loop: str = ""
    element: str = ""
    severity: str = "error"  # error | warning

    def row(self) -> dict[str, object]:
        """All fields as a dict (the first eight are the fixed ``problems`` columns)."""
        return asdict(self)
