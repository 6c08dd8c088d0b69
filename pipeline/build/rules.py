"""What a scrubber rule module sees of the check it reports through (``scrub._Check``).

Rule modules (:mod:`.cob`, :mod:`.integrity`, :mod:`.coding`) are registered in
:mod:`pipeline.build.scrub` and called once per encounter as
``rule(practice, encounter, check, today, codes)``.
"""

from __future__ import annotations

from typing import Protocol

from pipeline.practice.model import Coverage

__all__ = ["RuleCheck"]


class RuleCheck(Protocol):
    coverages: dict[tuple[str, str], Coverage]
    """(patient id, priority) -> the coverage (the first at a priority), for the whole run."""
    memo: dict[object, object]
    """Shared by every encounter of one scrub run: results that cannot change during it."""

    def error(self, field: str, rule: str, message: str) -> None: ...

    def warning(self, field: str, rule: str, message: str) -> None: ...
