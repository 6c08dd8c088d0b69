"""SNIP 3 balancing on generated 835s and small hand-made 835/837P texts."""

from __future__ import annotations

from pathlib import Path

from pipeline.x12.balance import check_balancing
from pipeline.x12.reader import read_segments
from tests.x12.samples import balanced_835, unbalanced_835

HEAD = (
    "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       "
    "*250101*1200*^*00501*000000001*0*P*:~\n"
)


def balance(text: str) -> list[tuple[str, str, str, str, str]]:
    found = check_balancing(read_segments(text.encode()), "t")
    return [(p.rule, p.key, p.expected, p.actual, p.element) for p in found]


GS_835 = "HP*S*R*20250101*1200*1*X*005010X221A1"


def wrap(body: list[str], st: str = "ST*835*0001", gs: str = GS_835) -> str:
    segs = [st, *body]
    lines = [f"GS*{gs}", *segs, f"SE*{len(segs) + 1}*0001", "GE*1*1", "IEA*1*000000001"]
    return HEAD + "~\n".join(lines) + "~\n"


def test_generated_balanced_835_has_no_problems(tmp_path: Path) -> None:
    path = balanced_835(tmp_path / "good.835")
    assert check_balancing(read_segments(path), str(path)) == []


def test_generated_unbalanced_835_names_claim_line_and_payment(tmp_path: Path) -> None:
    path = unbalanced_835(tmp_path / "bad.835")
    found = {p.rule: p for p in check_balancing(read_segments(path), str(path))}
    assert set(found) == {"claim_balance", "line_balance", "transaction_balance"}
    claim, line = found["claim_balance"], found["line_balance"]
    payment = found["transaction_balance"]
    assert (claim.key, claim.expected, claim.actual) == ("PCNCLAIMOFF", "119", "120")
    assert (claim.level, claim.segment_id, claim.loop, claim.element) == (
        "claim", "CLP", "2100", "CLP04"
    )  # fmt: skip
    assert (line.key, line.expected, line.actual) == ("PCNLINEOFF/1", "80", "90")
    assert (line.segment_id, line.element) == ("SVC", "SVC03")
    assert (line.level, line.segment_id, line.loop) == ("line", "SVC", "2110")
    assert (payment.expected, payment.actual, payment.element) == ("200", "150", "BPR02")
    assert payment.segment_number == 4 and payment.transaction_control_number == "0001"
    assert "CLP03 250 - CAS 131" in claim.message


def test_claim_level_cas_counts_with_line_cas() -> None:
    body = ["BPR*I*90*C*ACH", "LX*1", "CLP*A*1*100*90*0*12*X", "CAS*OA*23*5",
            "SVC*HC:99213*100*95", "CAS*CO*45*5"]  # fmt: skip
    assert balance(wrap(body)) == []
    off = [s.replace("CAS*OA*23*5", "CAS*OA*23*4") for s in body]
    assert balance(wrap(off)) == [("claim_balance", "A", "91", "90", "CLP04")]


def test_reversal_with_negated_amounts_and_plb_signs() -> None:
    body = ["BPR*I*25*C*ACH", "LX*1",
            "CLP*B*22*-300*-180*-120*12*X", "CAS*PR*2*-120",
            "CLP*B*1*300*200*100*12*Y", "CAS*PR*2*60*1*1*40",
            "PLB*1234567893*20251231*WO:X*-10*L6:I*5"]  # fmt: skip
    # sum CLP04 20 - sum PLB (-10 + 5) = 25
    assert balance(wrap(body)) == []
    assert balance(wrap([body[0].replace("25", "15"), *body[1:]])) == [
        ("transaction_balance", "0001", "25", "15", "BPR02")
    ]


def test_a_claim_ends_at_the_next_lx_and_all_cas_triplets_count() -> None:
    body = ["BPR*I*30*C*ACH", "LX*1", "CLP*A*1*50*10*0*12*X",
            "SVC*HC:1*50*10", "CAS*CO*45*10*1*96*10*2*253*20",
            "LX*2", "CLP*C*1*20*20*0*12*Z", "SVC*HC:2*20*20"]  # fmt: skip
    assert balance(wrap(body)) == []


def test_amount_that_is_not_a_number_skips_its_check_with_a_warning() -> None:
    body = ["BPR*I*90*C*ACH", "LX*1", "CLP*A*1*1O0*90*0*12*X", "SVC*HC:99213*90*90"]
    found = check_balancing(read_segments(wrap(body).encode()), "t")
    assert [(p.rule, p.severity, p.element, p.actual) for p in found] == [
        ("invalid_number", "warning", "CLP03", "1O0")
    ]


def test_837p_claim_charge_equals_sum_of_sv102() -> None:
    gs = "HC*S*R*20250101*1200*1*X*005010X222A1"
    body = ["BHT*0019*00*1*20250101*1200*CH", "HL*1**20*1", "HL*2*1*22*0",
            "CLM*PCN1*150***11:B:1*Y*A*Y*Y", "LX*1", "SV1*HC:99213*100*UN*1***1",
            "LX*2", "SV1*HC:36415*50*UN*1***1",
            "HL*3*1*22*0", "CLM*PCN2*90***11:B:1*Y*A*Y*Y",
            "LX*1", "SV1*HC:99213*80*UN*1***1"]  # fmt: skip
    st = "ST*837*0001*005010X222A1"
    assert balance(wrap(body, st=st, gs=gs)) == [("claim_charge", "PCN2", "80", "90", "CLM02")]


def test_other_transactions_are_not_balanced() -> None:
    gs = "HC*S*R*20250101*1200*1*X*005010X223A2"
    body = ["CLM*PCN1*150***11:B:1*Y*A*Y*Y", "LX*1", "SV1*HC:99213*100"]
    assert balance(wrap(body, st="ST*837*0001*005010X223A2", gs=gs)) == []
