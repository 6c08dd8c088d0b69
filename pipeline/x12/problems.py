"""The one shape for every problem found in a file: validation errors and balancing failures.

The same rows make the ``problems`` table of ``claimflow parse`` (DESIGN.md § Tables) and the
error lines of ``claimflow validate``.

PHI: ``actual`` may hold a field value (a patient's name with a bad character); it stays in
the rows written to files the practice owns. ``message`` never holds a value, and ``str()``
and ``repr()`` (what reaches logs, Prefect and exception text) give the position, the rule and
the value's length only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["PROBLEM_COLUMNS", "Problem", "without_value"]

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


@dataclass(frozen=True, slots=True, repr=False)
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

    def where(self) -> str:
        """``segment 12 NM1 loop 2010BA NM103`` (or ``file``): the position, never a value."""
        parts = [f"segment {self.segment_number}" if self.segment_number is not None else "file"]
        if self.segment_id:
            parts.append(self.segment_id)
        if self.loop:
            parts.append(f"loop {self.loop}")
        if self.element:
            parts.append(self.element)
        return " ".join(parts)

    def __str__(self) -> str:
        found = f" (value of {len(self.actual)} characters)" if self.actual else ""
        return f"{self.severity}: {self.where()}: {self.message}{found} [{self.rule}]"

    def __repr__(self) -> str:
        # The dataclass repr would print ``actual`` (PHI) into logs and tracebacks.
        return (
            f"Problem({self.source_file!r}, {self.rule!r}, {self.where()!r}, "
            f"severity={self.severity!r}, actual=<{len(self.actual)} characters>)"
        )

    def row(self) -> dict[str, object]:
        """All fields as a dict (the first eight are the fixed ``problems`` columns)."""
        return asdict(self)


def without_value(text: str, value: str | None) -> str:
    """pyx12 (and the compiled checker, word for word) quotes the bad value in its message
    (``len("SMI\\x00TH")``, ``(QQ) is not a valid code``): keep the words, drop the value,
    which may be PHI (the ``actual`` field keeps it)."""
    if not value:
        return text
    shown = f"<{len(value)} characters>"
    for quoted in (f'"{value}"', f"({value})", f"'{value}'"):
        text = text.replace(quoted, quoted[0] + shown + quoted[-1])
    if len(value) > 2:  # a 1-2 character value is a code; replacing it would cut into names
        text = text.replace(value, shown)
    return text
