"""The authored pyx12 maps (270/271 005010X279A1, 276/277 005010X212) and their map folder.

pyx12 runs through its library API here (never the x12valid CLI, which always exits 1); its
findings come back through its JSON error visitor.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from pipeline.errors import ConfigError
from pipeline.x12 import mapgen
from pipeline.x12.maps import AUTHORED_MAPS, MAPPINGS_DIR, check_map, map_path, pyx12_map_dir
from tests.conftest import CORPUS, corpus_rows

SAMPLES = Path(__file__).parent / "maps_samples"

# Findings = (pyx12 error code, message). Codes: segment level 1 unrecognised, 3 mandatory
# segment/loop missing, 5 too many; element level 5 too long, 7 invalid code value.
Finding = tuple[str, str]


def _findings(doc: dict[str, Any]) -> list[Finding]:
    found: list[Finding] = []
    for key in ("interchanges", "groups", "transactions"):
        for child in doc.get(key, []):
            found += [(e["err_cde"], e["err_str"]) for e in child.get("errors", [])]
            found += _findings(child)
    for seg in doc.get("segments", []):
        found += [(e["err_cde"], e["err_str"]) for e in seg["errors"]]
        for ele in seg["elements"]:
            found += [(e["err_cde"], e["err_str"]) for e in ele["errors"]]
    return found


def pyx12_findings(text: str, folder: Path | None) -> tuple[bool, list[Finding]]:
    """Validate X12 ``text`` with pyx12 and maps from ``folder`` (None: pyx12's own)."""
    import pyx12.params
    import pyx12.x12n_document

    report = io.StringIO()
    ok = pyx12.x12n_document.x12n_document(
        pyx12.params.params(),
        io.StringIO(text),  # text mode: pyx12 silently returns False on a binary stream
        fd_997=None,
        fd_html=None,
        fd_json=report,
        map_path=None if folder is None else str(folder),
    )
    return ok, _findings(json.loads(report.getvalue()))


def x12_text(path: Path) -> str:
    """File text as pyx12 needs it: no UTF-8 BOM, and no indentation between segments
    (claimflow's reader ignores whitespace between segments; pyx12 flags it)."""
    text = path.read_bytes().decode("utf-8-sig")
    terminator = text[105]
    return re.sub(re.escape(terminator) + r"\s+", terminator + "\n", text)


def _eligibility_rows() -> list[dict[str, str]]:
    return [
        r
        for r in corpus_rows()
        if r["file"].split("/")[0] in ("270", "271")
        and r.get("known_defective_or_negative", "") != "yes"
        and r.get("transaction", "").endswith("005010X279A1")
    ]


def _claim_status_rows() -> list[dict[str, str]]:
    return [
        r
        for r in corpus_rows()
        if r["file"].split("/")[0] in ("276", "277")
        and r.get("known_defective_or_negative", "") != "yes"
        and r.get("transaction", "").endswith("005010X212")
    ]


# The only findings pyx12 reports on these X279A1 / X212 files are defects of the source file
# itself, not a map matter: an envelope mismatch (SE02 / IEA02), and a 277 that fills STC03 and
# STC12 (277CA habits), which the X212 guide marks not used in 2200D.
_STC_NOT_USED = [
    ("10", 'Data element "Action Code" (STC03) is marked as Not Used'),
    ("10", 'Data element "Free-form Message Text" (STC12) is marked as Not Used'),
]
ENVELOPE_DEFECTS: dict[str, list[Finding]] = {
    "271/lfh__subscriber-health-benefit-check-error.271": [
        ("3", "SE id=4323 does not match ST id=4321")
    ],
    "277/stupidedi__1.era": [("001", "IEA id=267365555 does not match ISA id=269895334")],
    "277/imsweb__x12_277_x212.txt": [
        ("001", "IEA id=842928883 does not match ISA id=000000001"),
        *_STC_NOT_USED * 8,
    ],
}


# -- the map files -------------------------------------------------------------------------
@pytest.mark.parametrize("name", AUTHORED_MAPS)
def test_authored_map_validates_against_pyx12_map_xsd(name: str) -> None:
    assert check_map(MAPPINGS_DIR / name) == []


@pytest.mark.parametrize(("stem", "name"), sorted(mapgen.MAPS.items()))
def test_authored_map_is_what_the_spec_generates(stem: str, name: str) -> None:
    assert (MAPPINGS_DIR / name).read_bytes() == mapgen.build_map(stem), (
        "stale map: run .venv/bin/python -m pipeline.x12.mapgen"
    )


def test_check_map_reports_schema_violations(tmp_path: Path) -> None:
    broken = (MAPPINGS_DIR / AUTHORED_MAPS[0]).read_text(encoding="utf-8")
    broken = broken.replace("<usage>R</usage>", "<usage>X</usage>", 1)
    (tmp_path / "broken.xml").write_text(broken, encoding="utf-8")
    (tmp_path / "cut.xml").write_text(broken[:500], encoding="utf-8")
    problems = check_map(tmp_path / "broken.xml")
    assert problems and "usage" in problems[0] and problems[0].startswith(str(tmp_path))
    assert "not readable XML" in check_map(tmp_path / "cut.xml")[0]


@pytest.mark.parametrize(
    ("name", "schema"), [("maps.xml", "maps.xsd"), ("dataele.xml", "dataele.xsd")]
)
def test_registration_files_validate_in_repo_and_merged(name: str, schema: str) -> None:
    assert check_map(MAPPINGS_DIR / name, schema) == []
    assert check_map(map_path() / name, schema) == []


def test_repeating_element_regex_accepts_each_code_and_nothing_else() -> None:
    pattern = re.compile(mapgen._codes_regex(["1", "30", "98", "AL", "MH"], 3))
    for good in ("30", "1^30^98", "AL>MH", "MH"):
        assert pattern.search(good), good
    for bad in ("ZZ", "30^", "^30", "30^^98", "3098", "1^30^98^AL", "31", ""):
        assert not pattern.search(bad), bad


# -- map_path() ------------------------------------------------------------------------------
def test_map_path_resolves_ours_and_pyx12s_maps() -> None:
    import pyx12.map_index

    folder = map_path()
    index = pyx12.map_index.map_index(str(folder))
    wanted = {
        ("005010X279A1", "HS"): "270.5010.X279.A1.xml",
        ("005010X279A1", "HB"): "271.5010.X279.A1.xml",
        ("005010X222A1", "HC"): "837.5010.X222.A1.xml",
        ("005010X221A1", "HP"): "835.5010.X221.A1.xml",
        ("005010X231A1", "FA"): "999.5010X231.A1.xml",
        ("005010X231", "FA"): "999.5010.xml",
        ("005010X214", "HN"): "277.5010.X214.xml",
        ("005010X212", "HR"): "276.5010.X212.xml",
        ("005010X212", "HN"): "277.5010.X212.xml",
    }
    for (vriic, fic), filename in wanted.items():
        assert index.get_filename("00501", vriic, fic) == filename
        assert (folder / filename).is_file()
    for name in ("codes.xml", "dataele.xml", "x12.control.00501.xml", "x12.control.00401.xml"):
        assert (folder / name).is_file()


_DETAIL = "/ISA_LOOP/GS_LOOP/ST_LOOP/DETAIL/2000A/2000B"
_SUBSCRIBER_NM1 = {
    "270.5010.X279.A1.xml": f"{_DETAIL}/2000C/2100C/NM1",
    "271.5010.X279.A1.xml": f"{_DETAIL}/2000C/2100C/NM1",
    "276.5010.X212.xml": f"{_DETAIL}/2000C/2000D/2100D/NM1",
    "277.5010.X212.xml": f"{_DETAIL}/2000C/2000D/2100D/NM1",
}


@pytest.mark.parametrize("name", AUTHORED_MAPS)
def test_pyx12_loads_the_authored_map(name: str) -> None:
    import pyx12.map_if
    import pyx12.params

    loaded = pyx12.map_if.load_map_file(name, pyx12.params.params(), str(map_path()))
    assert loaded.id == name[:3]
    nm1 = loaded.getnodebypath(_SUBSCRIBER_NM1[name])
    assert nm1 is not None and nm1.children[0].valid_codes == ["IL"]


def test_our_x212_277_replaces_the_unusable_one_pyx12_ships() -> None:
    ours = map_path() / "277.5010.X212.xml"
    assert not ours.is_symlink()
    assert ours.read_bytes() == (MAPPINGS_DIR / "277.5010.X212.xml").read_bytes()
    shipped = (pyx12_map_dir() / "277.5010.X212.xml").read_text(encoding="utf-8")
    assert "005010X218" in shipped  # the reason: pyx12's copy expects an 820's GS08


def test_map_path_builds_a_fresh_folder_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLAIMFLOW_PYX12_MAP_CACHE", str(tmp_path))
    build = map_path.__wrapped__
    first = build()
    assert first.parent == tmp_path
    assert build() == first
    assert [p.name for p in tmp_path.iterdir()] == [first.name]  # no scratch folders left
    shipped = {p.name for p in pyx12_map_dir().glob("*.xml")}
    assert {p.name for p in first.iterdir()} == shipped | set(AUTHORED_MAPS)
    assert (first / AUTHORED_MAPS[0]).read_bytes() == (MAPPINGS_DIR / AUTHORED_MAPS[0]).read_bytes()


def test_map_path_names_the_folder_it_cannot_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv("CLAIMFLOW_PYX12_MAP_CACHE", str(tmp_path / "file" / "maps"))
    with pytest.raises(ConfigError, match=r"cannot assemble the pyx12 map folder: .*file/maps"):
        map_path.__wrapped__()


def test_repository_holds_only_authored_files() -> None:
    on_disk = {p.name for p in MAPPINGS_DIR.iterdir() if p.is_file()}
    assert on_disk <= {*AUTHORED_MAPS, "maps.xml", "dataele.xml", "README.md"}


# -- validation with the maps ----------------------------------------------------------------
@pytest.mark.parametrize("row", _eligibility_rows(), ids=lambda r: r["file"])
def test_valid_corpus_eligibility_file_passes(row: dict[str, str], corpus_dir: Path) -> None:
    ok, findings = pyx12_findings(x12_text(corpus_dir / row["file"]), map_path())
    expected = ENVELOPE_DEFECTS.get(row["file"], [])
    assert findings == expected
    assert ok is (not expected)


def test_corpus_has_the_eligibility_files_we_expect() -> None:
    if not (CORPUS / "PROVENANCE.tsv").exists():
        pytest.skip("../shared/corpus is not present")
    assert len(_eligibility_rows()) >= 7  # 3 x 270, 4 x 271 at the time of writing


@pytest.mark.parametrize("row", _claim_status_rows(), ids=lambda r: r["file"])
def test_valid_corpus_claim_status_file_passes(row: dict[str, str], corpus_dir: Path) -> None:
    ok, findings = pyx12_findings(x12_text(corpus_dir / row["file"]), map_path())
    expected = ENVELOPE_DEFECTS.get(row["file"], [])
    assert findings == expected
    assert ok is (not expected)


def test_corpus_has_the_claim_status_files_we_expect() -> None:
    if not (CORPUS / "PROVENANCE.tsv").exists():
        pytest.skip("../shared/corpus is not present")
    assert len(_claim_status_rows()) >= 8  # 3 x 276, 5 x 277 at the time of writing


@pytest.mark.parametrize(
    "name", ["synthetic-full.270", "synthetic-full.271", "synthetic-full.276", "synthetic-full.277"]
)
def test_synthetic_file_using_every_loop_passes(name: str) -> None:
    ok, findings = pyx12_findings(x12_text(SAMPLES / name), map_path())
    assert findings == []
    assert ok


def _mutated(path: Path, old: str, new: str) -> str:
    text = x12_text(path)
    assert old in text, f"{old!r} not in {path.name}"
    return text.replace(old, new, 1)


LONG_NAME = "X" * 90
MUTATIONS = [
    # (sample, old, new, expected error code, text in that error)
    ("270", "NM1*IL*1*DOE*JANE*Q**JR*MI*W123456789~", "", "3", "(2100C) missing"),
    ("271", "NM1*IL*1*DOE*JANE*Q***MI*W123456789~", "", "3", "(2100C) missing"),
    ("271", "NM1*03*1*DOE*JAMIE~", "", "3", "(2100D) missing"),
    ("270", "HL*1**20*1~", "", "3", "(2000A) missing"),
    ("270", "EQ*30>98>MH~", "EQ*ZZZ~", "7", "(ZZZ)"),
    ("270", "EQ*30>98>MH~", "EQ*30>ZZ>MH~", "7", "(30>ZZ>MH)"),
    ("271", "EB*L~", "EB*ZZ~", "7", "(ZZ)"),
    ("271", "EB*6**30~", "EB*6*EMP*30~", "7", "(EMP) is not a valid code"),
    ("271", "EB*B*IND*98***27*40", "EB*B*IND*98***99*40", "7", "(99) is not a valid code"),
    ("271", "AAA*N**75*C~", "AAA*N**ZZ*C~", "7", "(ZZ) is not a valid code"),
    ("270", "NM1*IL*1*DOE*", f"NM1*IL*1*{LONG_NAME}*", "5", "is too long"),
    ("271", "NM1*IL*1*DOE*", f"NM1*IL*1*{LONG_NAME}*", "5", "is too long"),
    ("271", "MSG*COVERAGE TERMINATED~", f"MSG*{'M' * 265}~", "5", "is too long"),
    ("270", "TRN*1*TRACE0001*9123456789~", "TRN*1*TRACE0001*912345678~", "4", "too short"),
    ("271", "N3*12 ELM ST*APT 4~", "N3*12 ELM ST*APT 4~N3*X~", "5", "exceeded max count"),
    ("276", "NM1*IL*1*DOE*JANE*Q**JR*MI*W123456789~", "", "3", "(2100D) missing"),
    ("276", "NM1*QC*1*ROE*SAMUEL~", "", "3", "(2100E) missing"),
    ("276", "BHT*0010*13*", "BHT*0010*08*", "7", "(08) is not a valid code"),
    ("276", "TRN*1*STAT0001~", "TRN*2*STAT0001~", "1", "TRN*2 not found"),
    ("276", "REF*EJ*PCN0001~", "REF*ZZ*PCN0001~", "1", "REF*ZZ"),
    ("276", "AMT*T3*250.5~", "AMT*T3*250.5~AMT*T3*1~", "5", "exceeded max count"),
    ("276", "SVC*HC:36415*", "SVC*ZZ:36415*", "1", "SVC*ZZ:36415 not found"),
    ("276", "DMG*D8*20120704*M~", "", "3", "Mandatory segment"),
    ("277", "TRN*2*STAT0001~", "TRN*1*STAT0001~", "1", "TRN*1 not found"),
    ("277", "STC*F2:88:QC*", "STC*F2:88:XX*", "7", "(XX) is not a valid code"),
    ("277", "STC*F2:88*20260109~", "STC*F2:88*20260109*WQ~", "10", "(STC03) is marked as Not Used"),
    (
        "277",
        "BHT*0010*08*RSP277001*20260116*0805*DG~",
        "BHT*0010*08*RSP277001*20260116*0805~",
        "1",
        "BHT06",
    ),
    ("277", "NM1*IL*1*ROE*RICHARD****MI*W987654321~", "", "3", "(2100D) missing"),
]


@pytest.mark.parametrize(("sample", "old", "new", "code", "text"), MUTATIONS)
def test_mutated_file_fails_with_the_right_error(
    sample: str, old: str, new: str, code: str, text: str
) -> None:
    ok, findings = pyx12_findings(
        _mutated(SAMPLES / f"synthetic-full.{sample}", old, new), map_path()
    )
    assert not ok
    assert any(c == code and text in msg for c, msg in findings), findings


@pytest.mark.parametrize(
    ("folder", "old", "new", "code", "text"),
    [
        (
            "270/lfh__demo-single-line.270",
            "NM1*IL*1*SMITH*ROBERT****MI*11122333301~",
            "",
            "3",
            '"Subscriber Name" (2100C) missing',
        ),
        ("270/lfh__demo-single-line.270", "EQ*30~", "EQ*ZZZ~", "7", "(ZZZ)"),
        (
            "270/lfh__demo-single-line.270",
            "NM1*IL*1*SMITH*",
            f"NM1*IL*1*{LONG_NAME}*",
            "5",
            "(NM103) is too long",
        ),
        ("271/lfh__subscriber-health-benefit-check.271", "EB*L~", "EB*ZZ~", "7", "(ZZ)"),
    ],
)
def test_mutated_corpus_file_fails_with_the_right_error(
    corpus_dir: Path, folder: str, old: str, new: str, code: str, text: str
) -> None:
    ok, findings = pyx12_findings(_mutated(corpus_dir / folder, old, new), map_path())
    assert not ok
    assert any(c == code and text in msg for c, msg in findings), findings


# -- pyx12's own maps still resolve through map_path() ----------------------------------------
@pytest.mark.parametrize(
    "name",
    [
        "837P/stupidedi__ambulance.edi",
        "835/pyx12__835_mult_loops.txt",
        "999/pyx12__834_lui_id_5010.999.txt",
        "277CA/imsweb__x12_277CA_accepted.txt",
    ],
)
def test_shipped_maps_give_the_same_verdict_through_map_path(corpus_dir: Path, name: str) -> None:
    verdicts = {r["file"]: r.get("pyx12_pyx12_result", "") for r in corpus_rows()}
    text = x12_text(corpus_dir / name)
    ours = pyx12_findings(text, map_path())
    assert ours == pyx12_findings(text, None)
    assert ours[0] is (verdicts[name] == "ACCEPT")
