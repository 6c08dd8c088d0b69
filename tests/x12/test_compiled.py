"""The compiled guide checker on purpose-made defects, beside pyx12; its table cache; the switch.

Each case breaks one thing in our golden 837P (a bad code, a bad date, a missing or unknown
segment, an element too long, one too many, a trailing separator, an HL out of sequence, a
loop repeated past its maximum, a missing SE, ...) and asserts that the
compiled checker reports exactly what pyx12 reports (position, loop, element, 999 code,
message), and at least one finding.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.x12 import compiled_maps
from pipeline.x12.compiled_conformance import compare
from pipeline.x12.compiled_maps import CompiledMap, load_compiled_map
from pipeline.x12.ig import ig_map_path
from pipeline.x12.validate import validate_command, validate_file

ROOT = Path(__file__).resolve().parents[2]
GOLDEN_837P = ROOT / "tests" / "golden" / "build" / "demo.837p.x12"
CLAIMFLOW = str(Path(sys.executable).parent / "claimflow")
GOLDEN_270 = ROOT / "tests" / "golden" / "build" / "demo_20261128.270.x12"

BHT = "BHT*0019*00*0000000010001*20261127*2130*CH~"
PER = "PER*IC*DANA WHITFIELD*TE*3125550142~"
# (case, text to replace, replacement, a 999 code the finding must carry)
DEFECTS = [
    ("bad qualifier", "SBR*P*18*G8577******14~", "SBR*Q*18*G8577******14~", "1"),
    ("bad state code", "N4*SKOKIE*IL*60076~", "N4*SKOKIE*ZZ*60076~", "7"),
    ("30 February", "DTP*472*D8*20261112~", "DTP*472*D8*20260230~", "8"),
    ("29 February leap", "DTP*439*D8*20261112~", "DTP*439*D8*20240229~", None),
    ("bad time", BHT, BHT.replace("*2130*", "*2170*"), "9"),
    ("missing required segment", BHT + "\n", "", "3"),
    ("unknown segment", "PRV*BI*PXC*261QM1300X~", "PRV*BI*PXC*261QM1300X~\nZZZ*1~", "1"),
    ("too long", "REF*EI*463871520~", "REF*EI*" + "4" * 60 + "~", "5"),
    ("too many elements", "N3*PO BOX 4410~", "N3*PO BOX 4410*A*B~", "8"),
    ("trailing separator", "N3*PO BOX 4410~", "N3*PO BOX 4410*~", "SEG1"),
    ("HL out of sequence", "HL*2*1*22*0~", "HL*5*1*22*0~", "HL1"),
    ("required element empty", "N4*CHICAGO*IL*60614~", "N4**IL*60614~", "1"),
    ("bad characters", "N3*1297 S HALSTED ST~", "N3*1297 S HALSTED ST\x07~", "6"),
    ("not-used element", PER, PER[:-1] + "*****X~", None),
    ("composite where simple", "REF*6R*LS0000001-1~", "REF*6R*LS0000001:1~", "6"),
    ("bad number", "CLM*LS0000001*399***", "CLM*LS0000001*39X***", "6"),
    ("syntax pair", "NM1*87*2~", "NM1*87*2******XX~", "8"),
    ("header loop repeated past max", BHT, f"{BHT}\n{BHT}", "4"),
    ("missing SE", None, None, None),
]  # fmt: skip


def _defective(tmp_path: Path, old: str | None, new: str | None) -> Path:
    text = GOLDEN_837P.read_text(encoding="ascii")
    if old is None:  # drop the last SE: the set runs into GE
        head, _se, tail = text.rpartition("\nSE*")
        text = head + "\n" + tail.split("\n", 1)[1]
    else:
        assert old in text, old
        text = text.replace(old, new or "", 1)
    path = tmp_path / "defect.837p.x12"
    path.write_text(text, encoding="latin-1")
    return path


@pytest.mark.parametrize(("case", "old", "new", "code"), DEFECTS, ids=[d[0] for d in DEFECTS])
def test_compiled_finds_what_pyx12_finds(
    tmp_path: Path, case: str, old: str | None, new: str | None, code: str | None
) -> None:
    row = compare("build", case, _defective(tmp_path, old, new))
    assert row.pyx12_has_verdict
    assert row.compiled_status == row.pyx12_status
    assert sorted(row.compiled_findings, key=repr) == sorted(row.pyx12_findings, key=repr)
    if code is not None:
        assert code in {f[5] for f in row.compiled_findings}, row.compiled_findings


def test_clean_files_have_no_findings() -> None:
    for path in (GOLDEN_837P, GOLDEN_270):
        report = validate_file(path)
        assert report.status == "valid" and [p for p in report.problems if p.rule == "ig"] == []


def test_unknown_engine_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown validation engine 'fast'"):
        validate_file(GOLDEN_837P, engine="fast")


def test_validate_command_engines_report_alike(capsys: pytest.CaptureFixture[str]) -> None:
    path = ROOT / "sample_edi" / "x12" / "remit_oon.835"
    reports = []
    for engine in ("compiled", "pyx12"):
        assert validate_command([path], as_json=True, engine=engine) == 0
        reports.append(json.loads(capsys.readouterr().out))
    assert reports[0] == reports[1]


def test_cli_engine_option(tmp_path: Path) -> None:
    bad = _defective(tmp_path, "SBR*P*18*G8577******14~", "SBR*Q*18*G8577******14~")
    outputs = []
    for engine in ("compiled", "pyx12"):
        done = subprocess.run(
            [CLAIMFLOW, "validate", "--engine", engine, "--json", str(bad)],
            capture_output=True, text=True, check=False, cwd=ROOT,
        )  # fmt: skip
        assert done.returncode == 1, done.stderr
        outputs.append(json.loads(done.stdout))
    assert outputs[0] == outputs[1]
    refused = subprocess.run(
        [CLAIMFLOW, "validate", "--engine", "fast", str(bad)],
        capture_output=True, text=True, check=False, cwd=ROOT,
    )  # fmt: skip
    assert refused.returncode == 2 and "Traceback" not in refused.stderr


def test_tables_are_cached_by_digest_and_rebuilt_when_unreadable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = ig_map_path()
    assert folder is not None
    monkeypatch.setenv("CLAIMFLOW_COMPILED_MAP_CACHE", str(tmp_path))
    monkeypatch.setattr(compiled_maps, "_LOADED", {})
    built = load_compiled_map(folder, "835.5010.X221.A1.xml")
    [cached] = tmp_path.glob("835.5010.X221.A1.xml.*.pickle")
    with cached.open("rb") as fh:
        again = pickle.load(fh)
    assert isinstance(again, CompiledMap) and again.walks == {} and again.patterns == {}
    assert again.node("/ISA_LOOP/GS_LOOP/GS").path == built.node("/ISA_LOOP/GS_LOOP/GS").path
    cached.write_bytes(b"not a pickle")  # a damaged entry is rebuilt, never trusted
    monkeypatch.setattr(compiled_maps, "_LOADED", {})
    rebuilt = load_compiled_map(folder, "835.5010.X221.A1.xml")
    assert rebuilt.id == built.id and pickle.loads(cached.read_bytes()).id == built.id
