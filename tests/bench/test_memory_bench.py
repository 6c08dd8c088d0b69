"""Peak memory of parsing a large 999 (one AK1 group, every row waiting for its AK9)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.parse.big_files import write_999

pytestmark = pytest.mark.bench

SETS = 600_000  # about 40 MB
CHILD = r"""
import json, sys, time
from pipeline.parse import common, iter_records
if len(sys.argv) > 2:
    common.SPOOL_ROWS = int(sys.argv[2])
start, count = time.perf_counter(), 0
for _ in iter_records(sys.argv[1]):
    count += 1
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the forked parent.
with open("/proc/self/status") as fh:
    hwm = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
print(json.dumps({"records": count, "seconds": time.perf_counter() - start, "rss_mb": hwm / 1024}))
"""


def parse_in_child(path: Path, *spool: str) -> dict[str, float]:
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), *spool],
        capture_output=True, text=True, check=True, cwd=root, timeout=900,
    )  # fmt: skip
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_40mb_999_parses_in_flat_memory(tmp_path: Path) -> None:
    path = write_999(tmp_path / "big.999", SETS)
    size_mb = path.stat().st_size / 1024 / 1024
    out = parse_in_child(path)
    print(
        f"\n{size_mb:.0f} MB 999 ({SETS:,} sets, one group): {out['records']:,.0f} records "
        f"in {out['seconds']:.1f} s, peak RSS {out['rss_mb']:.0f} MB (limit 150 MB)"
    )
    assert out["records"] == SETS  # no problem rows: the envelope counts are right
    assert out["rss_mb"] < 150
