"""Envelope trouble and the delivery faults, on small 837Ps written with the project writer."""

from __future__ import annotations

import shutil
from pathlib import Path

from pipeline.clearinghouse.responder import Faults, Responder
from pipeline.x12.control import FileControlNumbers
from pipeline.x12.reader import read_segments
from pipeline.x12.validate import validate_file
from tests.clearinghouse.x12_inputs import variety, write_837p


def _responder(root: Path, faults: Faults | None = None) -> Responder:
    return Responder(root, 11, faults=faults)  # open world: every member id is known


def _upload(responder: Responder, source: Path, name: str) -> Path:
    target = responder.layout.uploads / name
    shutil.copyfile(source, target)
    return target


def _ta1(path: Path) -> list[str]:
    return next(seg.elements for seg in read_segments(path) if seg.id == "TA1")


def test_open_world_engine_covers_every_kind(tmp_path: Path) -> None:
    from pipeline.clearinghouse.adjudicate import REQUIRED_KINDS

    responder = _responder(tmp_path / "sim")
    source = write_837p(
        tmp_path / "in.x12", variety(), control_numbers=FileControlNumbers(tmp_path / "cn.json")
    )
    files = responder.respond(_upload(responder, source, "claims.x12"))
    assert all(validate_file(f).status == "valid" for f in files)
    kinds = {
        p["kind"] for r in responder.truth.read() if r["record"] == "claim" for p in r["problems"]
    }
    assert set(REQUIRED_KINDS) <= kinds
    rejected = [
        r for r in responder.truth.read() if r["record"] == "claim" and r["outcome"] == "rejected"
    ]
    assert [r["patient_control_number"] for r in rejected] == ["T19"]  # 99999: invalid code


def test_reused_interchange_number_gets_ta1_025_and_nothing_else(tmp_path: Path) -> None:
    responder = _responder(tmp_path / "sim")
    source = write_837p(
        tmp_path / "in.x12", variety()[:3], control_numbers=FileControlNumbers(tmp_path / "cn.json")
    )
    first = responder.respond(_upload(responder, source, "a.x12"))
    again = responder.respond(_upload(responder, source, "b.x12"))
    assert len(first) > 3
    assert len(again) == 1 and _ta1(again[0])[4:6] == ["R", "025"]


def test_resent_claims_under_a_new_interchange_are_duplicates(tmp_path: Path) -> None:
    responder = _responder(tmp_path / "sim")
    numbers = FileControlNumbers(tmp_path / "cn.json")
    claims = variety()[:4]
    responder.respond(
        _upload(responder, write_837p(tmp_path / "1.x12", claims, control_numbers=numbers), "1.x12")
    )
    files = responder.respond(
        _upload(responder, write_837p(tmp_path / "2.x12", claims, control_numbers=numbers), "2.x12")
    )
    second = [
        r for r in responder.truth.read() if r["record"] == "claim" and r["source_file"] == "2.x12"
    ]
    assert second and all(r["outcome"] == "denied" for r in second)
    assert all(
        p["kind"] == "denied_18" and not p["injected"] for r in second for p in r["problems"]
    )
    cas = {
        (s[1], s[2])
        for f in files
        if f.name.startswith("835")
        for s in (x.elements for x in read_segments(f))
        if s[0] == "CAS"
    }
    assert cas == {("OA", "18")}


def test_unreadable_upload_gets_ta1_rejection(tmp_path: Path) -> None:
    responder = _responder(tmp_path / "sim")
    source = write_837p(
        tmp_path / "in.x12", variety()[:2], control_numbers=FileControlNumbers(tmp_path / "cn.json")
    )
    cut = tmp_path / "cut.x12"
    cut.write_bytes(source.read_bytes()[:400])
    files = responder.respond(_upload(responder, cut, "cut.x12"))
    assert len(files) == 1 and _ta1(files[0])[4:6] == ["R", "022"]
    junk = tmp_path / "junk.x12"
    junk.write_text("hello")
    assert responder.respond(_upload(responder, junk, "junk.x12")) == []


def test_duplicate_and_malformed_deliveries(tmp_path: Path) -> None:
    responder = _responder(tmp_path / "sim", Faults(duplicate=True, malformed=True))
    source = write_837p(
        tmp_path / "in.x12", variety(), control_numbers=FileControlNumbers(tmp_path / "cn.json")
    )
    files = responder.respond(_upload(responder, source, "claims.x12"))
    again = [f for f in files if "_AGAIN_" in f.name]
    cut = [f for f in files if "_CUT_" in f.name]
    assert len(again) == 1 and len(cut) == 1
    payer, number = again[0].name.split("_AGAIN_")
    original = responder.layout.responses / f"{payer}_{number}"
    assert original.read_bytes() == again[0].read_bytes()
    assert validate_file(cut[0]).status != "valid"
    faults = {r["fault"] for r in responder.truth.read() if r["record"] == "delivery"}
    assert faults == {"duplicate", "malformed"}


def test_late_835s_wait_for_the_next_upload(tmp_path: Path) -> None:
    responder = _responder(tmp_path / "sim", Faults(late=frozenset({"835"})))
    numbers = FileControlNumbers(tmp_path / "cn.json")
    first = responder.respond(
        _upload(
            responder,
            write_837p(tmp_path / "1.x12", variety()[:5], control_numbers=numbers),
            "1.x12",
        )
    )
    assert first and not [f for f in first if f.name.startswith("835")]
    held = sorted(p.name for p in responder.layout.held.iterdir())
    assert held and all(name.startswith("835") for name in held)
    second = responder.respond(
        _upload(
            responder,
            write_837p(tmp_path / "2.x12", variety("U")[:2], control_numbers=numbers),
            "2.x12",
        )
    )
    assert set(held) <= {f.name for f in second}
    assert all((responder.layout.responses / name).exists() for name in held)


def test_replacement_and_void_reverse_the_original(tmp_path: Path) -> None:
    from dataclasses import replace

    from pipeline.clearinghouse import read_ground_truth

    responder = _responder(tmp_path / "sim")
    numbers = FileControlNumbers(tmp_path / "cn.json")
    claims = [c for c in variety() if c.payer_id == "NWH01"][:4]
    responder.respond(
        _upload(responder, write_837p(tmp_path / "1.x12", claims, control_numbers=numbers), "1.x12")
    )
    first = {r["patient_control_number"]: r for r in read_ground_truth(responder.root, "claim")}
    paid = [c for c in claims if first[c.pcn]["outcome"] == "paid"][:2]
    assert len(paid) == 2
    fixed = replace(
        paid[0], frequency="7", original_icn=first[paid[0].pcn]["final_claim_control_number"]
    )
    voided = replace(
        paid[1], frequency="8", original_icn=first[paid[1].pcn]["final_claim_control_number"]
    )
    unsigned = replace(claims[0], pcn="X9", frequency="7", original_icn="")
    older = replace(claims[1], pcn="X8", frequency="8", original_icn="OLD0001")
    batch = [fixed, voided, unsigned, older]
    files = responder.respond(
        _upload(responder, write_837p(tmp_path / "2.x12", batch, control_numbers=numbers), "2.x12")
    )
    assert all(validate_file(f).status == "valid" for f in files)
    clps = [
        s.elements
        for f in files
        if f.name.startswith("835")
        for s in read_segments(f)
        if s.id == "CLP"
    ]
    assert {c[7] for c in clps if c[2] == "22"} == {
        fixed.original_icn,
        voided.original_icn,
        "OLD0001",
    }
    # reversal then replacement; the voids are reversals only
    assert [(c[1], c[2]) for c in clps] == [
        (fixed.pcn, "22"),
        (fixed.pcn, "1"),
        (voided.pcn, "22"),
        ("X8", "22"),
    ]
    second = {
        r["patient_control_number"]: r
        for r in read_ground_truth(responder.root, "claim")
        if r["source_file"] == "2.x12"
    }
    assert second[voided.pcn]["outcome"] == "voided" and second["X8"]["outcome"] == "voided"
    assert second[fixed.pcn]["replaces"] == fixed.original_icn
    assert second["X9"]["outcome"] == "rejected"  # a replacement without REF*F8
    assert "A7:21" in [p["reference"] for p in second["X9"]["problems"]]
