"""Large return files for streaming tests: a 999 with one group acknowledging many sets (its
rows all wait for the group's AK9), and any sample file with its transaction sets repeated."""

from __future__ import annotations

import re
from pathlib import Path

ISA = (
    "ISA*00*          *00*          *ZZ*CLEARHOUSE     *ZZ*PRACTICE       *"
    "261127*2130*^*00501*000000001*0*P*:~\n"
)


def write_999(path: Path, sets: int) -> Path:
    """One 999, one AK1 group of ``sets`` acknowledged 837s, every other one rejected."""
    with path.open("w", encoding="ascii") as out:
        out.write(ISA + "GS*FA*CLEARHOUSE*PRACTICE*20261127*2130*1*X*005010X231A1~\n")
        out.write("ST*999*0001*005010X231A1~\nAK1*HC*1*005010X222A1~\n")
        for i in range(1, sets + 1):
            if i % 2:
                out.write(
                    f"AK2*837*{i:09d}*005010X222A1~\nIK3*NM1*{i % 90 + 10}*2010BA*8~\n"
                    f"CTX*CLM01:PCN{i:08d}~\nIK4*3*1035*6*X~\nIK5*R*5~\n"
                )
            else:
                out.write(f"AK2*837*{i:09d}*005010X222A1~\nIK5*A~\n")
        segments = 2 + sets // 2 * 2 + (sets - sets // 2) * 5 + 2
        out.write(f"AK9*P*{sets}*{sets}*{sets // 2}~\nSE*{segments}*0001~\n")
        out.write("GE*1*1~\nIEA*1*000000001~\n")
    return path


def repeat_sets(sample: Path, times: int) -> bytes:
    """``sample`` (one ST..SE) with its transaction set repeated ``times`` times (GE01 then
    counts one set: a problem row, records unaffected)."""
    text = sample.read_bytes()
    block = re.search(rb"ST\*.*?SE\*[^~]*~\s*", text, re.S)
    assert block is not None, sample
    return text[: block.start()] + block.group(0) * times + text[block.end() :]
