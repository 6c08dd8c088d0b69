"""The simulator in its own process (the scale harness's clearinghouse)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.clearinghouse.process import SimulatorProcess
from pipeline.errors import ClaimflowError
from pipeline.x12.control import FileControlNumbers
from tests.clearinghouse.x12_inputs import variety, write_837p

PRACTICE = Path(__file__).resolve().parents[2] / "sample_edi" / "practice"


def test_it_answers_an_upload_and_hands_back_what_it_timed(tmp_path: Path) -> None:
    from pipeline.benchnight import reset_timings, simulator_peak_rss_mib, timings
    from pipeline.transport.profiles import load_profile
    from pipeline.transport.sftp import SftpTransport

    source = write_837p(
        tmp_path / "in.x12", variety()[:6], control_numbers=FileControlNumbers(tmp_path / "cn.json")
    )
    reset_timings()
    try:
        with SimulatorProcess(tmp_path / "ch", 5, PRACTICE) as ch:
            profile = load_profile("embedded", base_dir=ch.root, port=ch.port)
            with SftpTransport(profile) as transport:  # pinned host key, RejectPolicy
                transport.upload(source, "837P_SUBMITTER1_000000001.x12")
                names = [f.name for f in transport.list()]  # answered before upload returned
        rows, child_rss = timings(), simulator_peak_rss_mib()
    finally:
        reset_timings()
    assert {"TA1", "999", "277CA"} <= {n.split("_")[0] for n in names}
    assert rows["simulator adjudication"].calls == 1 and child_rss > 0
    assert "clearinghouse stopped (SIGTERM)" in (ch.root / "simulator.log").read_text()


def test_a_simulator_that_cannot_start_is_one_line_naming_its_log(tmp_path: Path) -> None:
    root = tmp_path / "ch"
    root.mkdir()
    (root / "keys").write_text("not a folder")  # its key folder cannot be made
    with pytest.raises(ClaimflowError, match=r"simulator\.log: the simulator exited at start"):
        with SimulatorProcess(root, 7, PRACTICE):
            pass
