"""Property tests: writer -> parser round trips, and mutated corpus bytes never crash."""

from __future__ import annotations

from collections import Counter as Multiset
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.errors import X12SyntaxError
from pipeline.parse import parse_file
from pipeline.x12.segments import Delimiters
from tests.conftest import CORPUS, corpus_rows
from tests.parse.x12build import Claim, Counter, Line, Payment, build_835

DELIMITERS = [
    Delimiters("*", "^", ":", "~"),
    Delimiters("|", "!", ">", "\n"),
    Delimiters("+", "`", "<", "'"),
]
codes = st.text(alphabet="ABCDEFGHJKMNPQRSTVWXYZ0123456789", min_size=1, max_size=8)
amounts = st.decimals(min_value=Decimal("-99999.99"), max_value=Decimal("99999.99"), places=2)
positive = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9999.99"), places=2)
adjustment = st.tuples(st.sampled_from(["CO", "PR", "OA", "PI"]), codes, amounts)


@st.composite
def lines(draw: st.DrawFn) -> Line:
    return Line(
        draw(codes),
        draw(amounts),
        draw(amounts),
        draw(st.lists(adjustment, max_size=8)),
        modifiers=tuple(
            draw(st.lists(st.sampled_from(["25", "59", "GT", "95", "XU"]), max_size=4))
        ),
        units=draw(st.none() | positive),
        original_code=draw(st.just("") | codes),
        control=draw(st.just("") | codes),
        allowed=draw(st.none() | amounts),
    )


@st.composite
def claims(draw: st.DrawFn) -> Claim:
    return Claim(
        draw(codes),
        draw(st.sampled_from(["1", "2", "3", "4", "19", "22"])),
        draw(amounts),
        draw(amounts),
        draw(amounts),
        icn=draw(st.just("") | codes),
        lines=draw(st.lists(lines(), max_size=3)),
        adjustments=draw(st.lists(adjustment, max_size=7)),
    )


@st.composite
def payments(draw: st.DrawFn) -> Payment:
    plb = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["WO", "FB", "L6", "72", "CS"]),
                st.just("") | codes,
                st.just(""),
                amounts.filter(bool),
            ),
            max_size=7,
        )
    )
    return Payment(
        draw(amounts), draw(codes), draw(st.lists(claims(), min_size=1, max_size=4)), plb=plb
    )


def _adjustment_set(items: list[tuple[str, str, Decimal]]) -> Multiset[tuple[str, str, Decimal]]:
    return Multiset(items)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(payments(), min_size=1, max_size=3), st.sampled_from(DELIMITERS))
def test_any_835_the_writer_produces_parses_back(
    payments_: list[Payment], delimiters: Delimiters
) -> None:
    text = build_835(payments_, delimiters=delimiters, control=Counter(3))
    tables = parse_file(text.encode("ascii"), name="prop.835").tables
    written = [c for p in payments_ for c in p.claims]
    got = tables["remit_claims"]
    assert got["patient_control_number"].tolist() == [c.pcn for c in written]
    assert got["charge_amount"].tolist() == [c.charge for c in written]
    assert got["paid_amount"].tolist() == [c.paid for c in written]
    assert got["patient_responsibility"].tolist() == [c.patient for c in written]
    assert got["payer_claim_control_number"].tolist() == [c.icn for c in written]
    lines_ = tables["remit_service_lines"]
    written_lines = [ln for c in written for ln in c.lines]
    assert lines_["procedure_code"].tolist() == [ln.code for ln in written_lines]
    assert lines_["charge_amount"].tolist() == [ln.charge for ln in written_lines]
    assert lines_["paid_amount"].tolist() == [ln.paid for ln in written_lines]
    assert lines_["units"].tolist() == [ln.units or Decimal(1) for ln in written_lines]
    assert lines_["modifiers"].tolist() == [",".join(ln.modifiers) for ln in written_lines]
    assert lines_["original_procedure_code"].tolist() == [ln.original_code for ln in written_lines]
    assert lines_["allowed_amount"].tolist() == [ln.allowed for ln in written_lines]
    adjustments = tables["remit_adjustments"]
    got_adj = list(
        zip(
            adjustments["group_code"],
            adjustments["reason_code"],
            adjustments["amount"],
            strict=True,
        )
    )
    want_adj = [
        a for c in written for a in c.adjustments + [x for ln in c.lines for x in ln.adjustments]
    ]
    assert _adjustment_set(got_adj) == _adjustment_set(want_adj)
    plb = tables["remit_provider_adjustments"]
    assert plb["amount"].tolist() == [x[3] for p in payments_ for x in p.plb]
    assert plb["reference_id"].tolist() == [x[1] for p in payments_ for x in p.plb]
    # Balancing: exactly the lines, claims and payments that do not add up are problems.
    problems = tables["problems"]
    rules = Multiset(problems["rule"])
    bad_lines = sum(
        ln.charge - sum(a[2] for a in ln.adjustments) != ln.paid for ln in written_lines
    )
    bad_claims = sum(
        c.charge
        - sum(a[2] for a in c.adjustments)
        - sum(a[2] for ln in c.lines for a in ln.adjustments)
        != c.paid
        for c in written
    )
    bad_payments = sum(
        p.amount != sum(c.paid for c in p.claims) - sum(x[3] for x in p.plb) for p in payments_
    )
    assert (rules["line_balance"], rules["claim_balance"], rules["transaction_balance"]) == (
        bad_lines,
        bad_claims,
        bad_payments,
    )
    assert rules["se_count"] == 0


MUTATION_FILES = [
    r["file"]
    for r in corpus_rows()
    if r["file"].split("/")[0] in ("835", "271", "999", "277CA", "TA1")
]


@pytest.mark.skipif(not MUTATION_FILES, reason="../shared/corpus is not present")
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(MUTATION_FILES or ["-"]),
    st.lists(
        st.tuples(
            st.floats(0, 1, exclude_max=True),
            st.integers(0, 255),
            st.sampled_from(["replace", "insert", "delete"]),
        ),
        min_size=1,
        max_size=6,
    ),
)
def test_mutated_corpus_files_raise_only_the_reader_error(
    name: str, mutations: list[tuple[float, int, str]]
) -> None:
    data = bytearray((CORPUS / name).read_bytes())
    for where, value, how in mutations:
        i = int(where * len(data))
        if how == "replace" and data:
            data[i] = value
        elif how == "insert":
            data.insert(i, value)
        elif data:
            del data[i]
    try:
        parse_file(bytes(data), name=Path(name).name)
    except X12SyntaxError as exc:
        assert "\n" not in str(exc)
