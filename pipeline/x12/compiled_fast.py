"""One regular expression per map segment that accepts only segments with no element findings.

The exact element checks in :mod:`pipeline.x12.compiled` cost a Python call per element; most
segments in a real file are clean. So for each segment rule (and the file's element and
component separators) this module builds a pattern that matches the joined segment text only
when every element passes: the data type's shape, the length bounds, the character set, the
code list. The pattern is *sound, not complete*: whatever it accepts the exact checks accept
(code lists are filtered through the exact checker itself); whatever it refuses simply goes to
the exact checks, which then report precisely what pyx12 reports. Date patterns leave out
29 February, an ``RD8`` range accepts only two 8-digit dates, and anything the pattern cannot
express (a map regular expression, a ``1250`` date format qualifier, an undefined data element)
gets no pattern at all.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from pipeline.x12.compiled_maps import CompositeRule, ElementRule, SegmentRule

__all__ = ["segment_pattern"]

# Whether the exact checker accepts a value for a rule (used to filter code lists).
Accepts = Callable[[ElementRule, str], bool]

_YEAR = r"(?:1[89][0-9]{2}|[2-9][0-9]{3})"
_MONTH_DAY = (
    r"(?:(?:0[13578]|1[02])(?:0[1-9]|[12][0-9]|3[01])"
    r"|(?:0[469]|11)(?:0[1-9]|[12][0-9]|30)"
    r"|02(?:0[1-9]|1[0-9]|2[0-8]))"
)
_DATE8 = _YEAR + _MONTH_DAY
_TIME = r"(?:[01][0-9]|2[0-3])[0-5][0-9](?:[0-5][0-9][0-9]{0,2})?"
_BAD_E = re.compile(r"""[^A-Z0-9!"&'()*+,\-\./:;?= a-z%~@\[\]_{}\\|<>#$]""", re.ASCII)
_BAD_E5 = re.compile(r"""[^A-Z0-9!"&'()*+,\-\./:;?= a-z%~@\[\]_{}\\|<>^`#$]""", re.ASCII)


def _char_class(icvn: str, excluded: str, space: bool = True) -> str:
    bad = _BAD_E5 if icvn == "00501" else _BAD_E
    chars = [
        chr(c)
        for c in range(32, 127)
        if not bad.search(chr(c)) and chr(c) not in excluded and (space or chr(c) != " ")
    ]
    return "[" + "".join(re.escape(c) for c in chars) + "]"


def _value_pattern(
    rule: ElementRule, icvn: str, excluded: str, accepts: Accepts, type_list: tuple[str, ...] = ()
) -> str | None:
    """A pattern for the non-empty values the exact checker accepts, or None."""
    if rule.usage == "N":
        return "(?!)"  # a value where none may be: never clean
    if rule.undefined or rule.regex is not None:
        return None
    if rule.codes or rule.external is not None:
        return None  # filled by the caller (it needs the external code sets)
    data_type = rule.data_type or ""
    lo, hi = rule.min_len, rule.max_len
    if type_list:
        if type_list == ("D8",) and data_type in ("AN", "ID") and lo <= 8 <= hi:
            return _DATE8
        if type_list == ("RD8",) and data_type in ("AN", "ID") and lo <= 17 <= hi:
            return f"{_DATE8}-{_DATE8}"
        return None
    if data_type in ("AN", "ID"):
        if hi < 1 or hi < lo:
            return None
        body = _char_class(icvn, excluded)
        last = _char_class(icvn, excluded, space=False)
        lo1 = max(lo, 1)
        return f"{body}{{{lo1 - 1},{hi - 1}}}{last}"
    if data_type[:1] == "N":
        return f"-?[0-9]{{{max(lo, 1)},{hi}}}"
    if data_type == "R":
        digits = f"-?[0-9]{{{max(lo, 1)},{hi}}}"
        decimal = f"-?(?=[0-9.]{{{max(lo, 1) + 1},{hi + 1}}}(?![0-9.]))[0-9]*\\.[0-9]+"
        return f"(?:{digits}|{decimal})"
    if data_type in ("DT", "D8") and lo <= 8 <= hi:
        return _DATE8
    if data_type == "TM":
        return f"(?=[0-9]{{{lo},{hi}}}(?![0-9])){_TIME}"
    if data_type == "RD8" and lo <= 17 <= hi:
        return f"{_DATE8}-{_DATE8}"
    return None


def _code_pattern(
    rule: ElementRule, codes: frozenset[str | None], excluded: str, accepts: Accepts
) -> str | None:
    kept = sorted(
        (c for c in codes if c and not any(x in c for x in excluded) and accepts(rule, c)),
        key=lambda c: (-len(c), c),  # longest first: a prefix never shadows a longer code
    )
    if not kept:
        return "(?!)"
    return "(?:" + "|".join(re.escape(c) for c in kept) + ")"


def _element(
    rule: ElementRule, icvn: str, excluded: str, accepts: Accepts,
    external: dict[str, frozenset[str | None]], type_list: tuple[str, ...] = (),
) -> tuple[str, bool] | None:  # fmt: skip
    """(pattern of the element's text, whether it may be empty), or None."""
    required = rule.usage == "R" and (
        rule.seq != 1 or not rule.in_composite or rule.parent_usage == "R"
    )
    if rule.codes or rule.external is not None:
        if rule.undefined or rule.regex is not None or type_list:
            return None
        codes = rule.codes
        if rule.external is not None:
            extra = external.get(rule.external)
            if extra is None:
                return None
            codes = codes | extra
        value = _code_pattern(rule, codes, excluded, accepts)
    else:
        value = _value_pattern(rule, icvn, excluded, accepts, type_list)
    if value is None:
        return None
    return value, not required


def _composite(
    rule: CompositeRule, icvn: str, sep: str, comp: str, accepts: Accepts,
    external: dict[str, frozenset[str | None]],
) -> tuple[str, bool] | None:  # fmt: skip
    if rule.usage == "N":
        return "", True  # only an empty composite is clean
    if rule.usage not in ("R", "S") or not rule.children:
        return None
    parts = []
    for child in rule.children:
        found = _element(child, icvn, sep + comp, accepts, external)
        if found is None:
            return None
        parts.append(found)
    body = _nest(parts, re.escape(comp))
    if rule.usage == "R":  # at least one component with text
        return f"(?=[{re.escape(comp)}]*[^{re.escape(comp + sep)}]){body}", False
    return body, True


def _nest(parts: list[tuple[str, bool]], sep: str) -> str:
    """``A(?:,B(?:,C)?)?``: trailing items may be absent only when none of them is required."""
    tail = ""
    optional_tail = True
    for k in range(len(parts) - 1, 0, -1):
        pattern, may_be_empty = parts[k]
        item = pattern if not may_be_empty else f"(?:{pattern})?"
        optional_tail = optional_tail and may_be_empty
        tail = f"(?:{sep}{item}{tail})" + ("?" if optional_tail else "")
    pattern, may_be_empty = parts[0]
    head = pattern if not may_be_empty else f"(?:{pattern})?"
    return head + tail


def segment_pattern(
    rule: SegmentRule, icvn: str, sep: str, comp: str, accepts: Accepts,
    external: dict[str, frozenset[str | None]],
) -> re.Pattern[str] | None:  # fmt: skip
    """The clean-segment pattern of ``rule`` for text joined with ``sep`` (None: always check)."""
    children = rule.by_index
    if not children or any(c is None for c in children):
        return None
    branches: list[tuple[tuple[str, ...], str | None]] = [((), None)]
    dtp = rule.id == "DTP" and len(children) >= 3
    # A 1250 (date format qualifier) element sets the types every later 1251 value is checked
    # by, once the data reaches it. Its map codes decide them, not its value, and a later
    # 1251 holding a value means the data reached it: so one 1250, required or not, gives
    # every later 1251 its codes as the types. With more, the pattern stops before the first
    # (then nothing after it may be required).
    limit = len(children)
    dated: tuple[str, ...] = ()
    formats = [
        i for i, c in enumerate(children) if isinstance(c, ElementRule) and c.data_ele == "1250"
    ]
    if formats and not dtp:
        k = formats[0]
        first = children[k]
        assert isinstance(first, ElementRule)
        if len(formats) == 1:
            dated = tuple(c for c in first.valid_codes if c is not None)
        elif not any(c is not None and c.usage == "R" for c in children[k:]):
            limit = k
        else:
            return None
    if dtp:
        qualifier = rule.by_index[1]
        if not isinstance(qualifier, ElementRule):
            return None
        branches = [
            ((q,), q)
            for q in ("D8", "RD8")
            if q in qualifier.codes and accepts(qualifier, q)
        ]  # fmt: skip
        if not branches:
            return None
    alternatives = []
    for type_list, fixed in branches:
        parts: list[tuple[str, bool]] = [(re.escape(rule.id), False)]
        for i, child in enumerate(children[:limit]):
            found: tuple[str, bool] | None
            if dtp and i == 1:
                found = (re.escape(fixed or ""), False)
            elif isinstance(child, CompositeRule):
                found = _composite(child, icvn, sep, comp, accepts, external)
            else:
                assert child is not None
                types = type_list if dtp and i == 2 else ()
                if dated and i > formats[0] and child.data_ele == "1251":
                    types = dated
                found = _element(child, icvn, sep + comp, accepts, external, types)
            if found is None:
                return None
            parts.append(found)
        alternatives.append(_nest(parts, re.escape(sep)))
    return re.compile("|".join(f"(?:{a})" for a in alternatives), re.S)
