"""``claimflow clearinghouse serve --root DIR [--port P] [--seed S]``."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TextIO

__all__ = ["serve_command"]


def serve_command(
    root: Path, *, port: int, seed: int, stdout: TextIO | None = None, run_for: float | None = None
) -> int:
    """Run the simulator on loopback until Ctrl-C (or ``run_for`` seconds, for tests)."""
    from pipeline.clearinghouse.server import Clearinghouse
    from pipeline.settings import get_settings

    out = stdout or sys.stdout
    settings = get_settings()
    practice = settings.practice_dir if settings.practice_dir.is_dir() else None
    clearinghouse = Clearinghouse(Path(root), seed, practice=practice, port=port)
    clearinghouse.start()
    layout = clearinghouse.layout
    sftp_root = layout.root / "sftp"
    print(f"clearinghouse listening on 127.0.0.1:{clearinghouse.port} (seed {seed})", file=out)
    print(f"host key fingerprint: {clearinghouse.host_key_fingerprint}", file=out)
    print(f"client key: {clearinghouse.client_key_path}", file=out)
    print(f"known_hosts: {clearinghouse.known_hosts_path}", file=out)
    print(f"upload to: /{layout.uploads.relative_to(sftp_root)}", file=out)
    print(f"responses in: /{layout.responses.relative_to(sftp_root)}", file=out)
    print(f"ground truth: {clearinghouse.ground_truth_path}", file=out)
    print("press Ctrl-C to stop", file=out, flush=True)
    started = time.monotonic()
    try:
        while run_for is None or time.monotonic() - started < run_for:
            time.sleep(0.2)
    except KeyboardInterrupt:
        print("stopping", file=out)
    finally:
        clearinghouse.stop()
    return 0
