"""835 parser throughput beside edi-835-parser and pyx12; 350 MB 835 to Parquet in flat memory.

Run with ``make bench``. Each measurement runs in a child process pinned to one core that
reports its own CPU time, wall time and peak RSS (``VmHWM``); imports are done before the
clock starts. The issue asks for >= 300k segments/s (835 -> all five remit tables in memory,
on a generated 835 of 50k claims), ratios of >= 6x edi-835-parser and >= 60x pyx12 (pyx12
on a slice, extrapolated per segment), and a ~350 MB 835 to Parquet under 250 MB peak RSS.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal as D
from pathlib import Path

import pytest

from pipeline.x12.reader import read_segments
from tests.parse.x12build import Claim, Counter, Line, Payment, build_835

pytestmark = pytest.mark.bench

CLAIMS = 50_000
PAYMENTS = 1  # edi-835-parser reads one ST per file
PYX12_CLAIMS = 1_000
BIG_BYTES = 350 * 1024 * 1024
NUMERIC_PAYER = ("NORTHWIND HEALTH", "12345")  # edi-835-parser int()s N104

CHILD = r"""
import json, os, sys, time
os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
mode, path = sys.argv[1], sys.argv[2]
if mode != "parquet":
    import pandas  # imported before the clock, for every contender that builds DataFrames
if mode == "ours":
    from pipeline.parse import parse_file
    run = lambda: {t: len(f) for t, f in parse_file(path).tables.items()}
elif mode == "parquet":
    from pipeline.parse import parse_835_to_parquet
    run = lambda: parse_835_to_parquet(path, sys.argv[3])
elif mode == "edi835":
    import edi_835_parser
    run = lambda: {"rows": len(edi_835_parser.parse(path).to_dataframe())}
else:
    import pyx12.error_handler, pyx12.params, pyx12.x12context
    def run():
        param, errh = pyx12.params.params(), pyx12.error_handler.errh_null()
        rows = []
        with open(path) as fd:
            for node in pyx12.x12context.X12ContextReader(param, errh, fd).iter_segments("2100"):
                if node.id == "2100":
                    rows.append((node.get_value("CLP01"), node.get_value("CLP03")))
                    for line in node.select("2110"):
                        rows.append((line.get_value("SVC01"), line.get_value("SVC02")))
        return {"rows": len(rows)}
cpu, wall = time.process_time(), time.perf_counter()
result = run()
cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
with open("/proc/self/status") as fh:
    hwm = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
print(json.dumps({"cpu": cpu, "wall": wall, "rss_mb": hwm / 1024, "result": result}))
"""


def _claim(n: int) -> Claim:
    """A realistic professional claim: 1-3 lines, PR/CO adjustments, remarks, ids, dates."""
    pcn = f"PCN{n:08d}"
    lines = [
        Line(
            "99214",
            D("200"),
            D("105"),
            [("PR", "45", D("50")), ("PR", "2", D("45"))],
            modifiers=("25",) if n % 3 == 0 else (),
            control=f"{pcn}-1",
            allowed=D("150"),
            remarks=("N381",) if n % 4 == 0 else (),
        ),
        Line(
            "36415",
            D("50"),
            D("14"),
            [("CO", "45", D("30")), ("PR", "2", D("6"))],
            control=f"{pcn}-2",
            allowed=D("20"),
        ),
    ]
    if n % 5 == 0:
        lines.append(
            Line(
                "81002",
                D("25"),
                D("0"),
                [("CO", "97", D("25"))],
                original_code="81003",
                control=f"{pcn}-3",
            )
        )
    charge = sum((ln.charge for ln in lines), D(0))
    return Claim(
        pcn,
        "1",
        charge,
        D("119"),
        D("101"),
        icn=f"ICN{n:09d}",
        rendering="1245319599",
        received="20250212",
        remarks=("MA01",) if n % 7 == 0 else (),
        lines=lines,
    )


def write_bench_835(path: Path, claims: int, payments: int) -> Path:
    per = claims // payments
    text = build_835(
        [
            Payment(
                D(119 * per) - D("-2.50"),
                f"EFT{p:06d}",
                [_claim(p * per + i) for i in range(per)],
                plb=[("L6", "", "", D("-2.50"))],
                payer=NUMERIC_PAYER,
            )
            for p in range(payments)
        ],
        control=Counter(1),
    )
    path.write_text(text, encoding="ascii")
    return path


def write_big_835(path: Path, size: int) -> Path:
    """~``size`` bytes in one payment: a 1,000-claim body from the writer, repeated with
    unique claim numbers; header and trailer rewritten for the real counts."""
    block_claims = 1_000
    template = build_835(
        [Payment(D(119 * block_claims), "EFTBIG", [_claim(i) for i in range(block_claims)])],
        control=Counter(1),
    )
    head, _, rest = template.partition("LX*1~\n")
    body, _, _ = rest.partition("SE*")
    blocks = max(1, size // len(body))
    head = head.replace(f"BPR*I*{119 * block_claims}*", f"BPR*I*{119 * block_claims * blocks}*")
    body_segments = body.count("~")
    header_segments = head.count("~") - 2 + 1  # ST..LX: all of head but ISA/GS, plus LX
    with path.open("w", encoding="ascii") as out:
        out.write(head + "LX*1~\n")
        for b in range(blocks):
            out.write(body.replace("PCN", f"B{b:05d}P").replace("ICN", f"B{b:05d}I"))
        out.write(f"SE*{header_segments + body_segments * blocks + 1}*0001~\nGE*1*1~\n")
        out.write("IEA*1*000000001~\n")
    return path


def _child(*args: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, *args], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _segments(path: Path) -> int:
    return sum(1 for _ in read_segments(path))


@pytest.fixture(scope="module")
def remit_50k(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_bench_835(tmp_path_factory.mktemp("bench") / "bench_50k.835", CLAIMS, PAYMENTS)


def test_parse_835_throughput_beside_edi_835_parser_and_pyx12(
    remit_50k: Path, tmp_path: Path
) -> None:
    segments = _segments(remit_50k)
    ours = _child("ours", str(remit_50k))
    assert ours["result"]["remit_claims"] == CLAIMS  # type: ignore[index]
    edi = _child("edi835", str(remit_50k))
    slice_path = write_bench_835(tmp_path / "slice.835", PYX12_CLAIMS, 1)
    slice_segments = _segments(slice_path)
    pyx = _child("pyx12", str(slice_path))
    rate = {
        "ours": segments / float(ours["cpu"]),  # type: ignore[arg-type]
        "edi-835-parser": segments / float(edi["cpu"]),  # type: ignore[arg-type]
        "pyx12": slice_segments / float(pyx["cpu"]),  # type: ignore[arg-type]
    }
    wall = segments / float(ours["wall"])  # type: ignore[arg-type]
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(
        f"\n835 -> five remit tables, {CLAIMS} claims, {segments} segments "
        f"({remit_50k.stat().st_size / 1e6:.1f} MB), one core, load average {load}:\n"
        f"  claimflow       {rate['ours']:>10,.0f} seg/s cpu ({wall:,.0f} wall), "
        f"peak RSS {ours['rss_mb']:.0f} MB\n"
        f"  edi-835-parser  {rate['edi-835-parser']:>10,.0f} seg/s cpu  "
        f"-> ratio {rate['ours'] / rate['edi-835-parser']:.1f}x (target 6x)\n"
        f"  pyx12 (slice of {PYX12_CLAIMS} claims, {slice_segments} segments) "
        f"{rate['pyx12']:>8,.0f} seg/s cpu  -> ratio {rate['ours'] / rate['pyx12']:.0f}x "
        f"(target 60x; extrapolated to the whole file: {segments / rate['pyx12']:.0f} s)"
    )
    assert rate["ours"] >= 300_000


def test_350mb_835_to_parquet_in_flat_memory(tmp_path: Path) -> None:
    big = write_big_835(tmp_path / "big.835", BIG_BYTES)
    out = _child("parquet", str(big), str(tmp_path / "parquet"))
    counts = out["result"]
    size_mb = big.stat().st_size / 1024 / 1024
    print(
        f"\n{size_mb:.0f} MB 835 -> Parquet: {counts['remit_claims']:,} claims, "  # type: ignore[index]
        f"{counts['remit_service_lines']:,} lines in {out['wall']:.0f} s wall, "  # type: ignore[index]
        f"peak RSS {out['rss_mb']:.0f} MB (limit 250 MB)"
    )
    assert counts["problems"] == 0  # type: ignore[index]
    assert float(out["rss_mb"]) < 250  # type: ignore[arg-type]
