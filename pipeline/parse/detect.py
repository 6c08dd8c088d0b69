"""Which return transaction a file (or one transaction set) holds: by ST01, GS01 or TA1."""

from __future__ import annotations

from pipeline.errors import X12SyntaxError
from pipeline.x12.reader import Source, read_segments

__all__ = ["KINDS", "detect_file", "transaction_kind"]

KINDS = ("835", "271", "999", "TA1", "277CA", "277")
_BY_ST01 = {"835": "835", "271": "271", "999": "999", "277": "277CA"}
_BY_GS01 = {"HP": "835", "HB": "271", "FA": "999", "HN": "277CA"}
CLAIM_STATUS_GUIDE = "005010X212"


def transaction_kind(st01: str, gs01: str = "", implementation: str = "") -> str | None:
    """``"835"``, ``"271"``, ``"999"``, ``"277CA"`` or ``"277"`` for a transaction set, else None.

    ST01 decides; GS01 is the fallback only when ST01 is not a 3-digit id (garbled). A 277
    whose guide (ST03, else GS08) is 005010X212 is a claim status response (``"277"``); any
    other 277 is read as a 277CA.
    """
    st01 = st01.strip()
    if st01 == "277" and implementation.strip() == CLAIM_STATUS_GUIDE:
        return "277"
    if st01 in _BY_ST01:
        return _BY_ST01[st01]
    if st01.isascii() and st01.isdigit() and len(st01) == 3:
        return None  # another transaction set (837, 270, 276...): not ours
    return _BY_GS01.get(gs01.strip())


def detect_file(source: Source, *, name: str | None = None) -> str:
    """The kind of the first TA1 or supported transaction set in ``source``.

    Raises :class:`X12SyntaxError` when the file is not X12 or holds none of the five.
    """
    found = ""
    label = name or str(source) if not isinstance(source, bytes) else name or "<bytes>"
    for seg in read_segments(source, name=name):
        tag = seg.elements[0]
        if tag == "TA1":
            return "TA1"
        if tag == "ST":
            env = seg.envelope
            kind = transaction_kind(seg[1], env.functional_id, env.implementation or env.version)
            if kind:
                return kind
            found = found or seg[1]
    what = f"found ST01 {found!r}" if found else "no transaction set and no TA1"
    raise X12SyntaxError(f"no 835, 271, 999, 277CA or TA1 in file ({what})", source=label)
