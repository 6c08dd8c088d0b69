"""``claimflow status [--json] [--workspace DIR]``: where things stand, without SQL."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TextIO

from pipeline.errors import ConfigError
from pipeline.ledger import Ledger
from pipeline.steps.status import night_status, render_status
from pipeline.steps.workspace import Workspace

__all__ = ["status_command"]


def status_command(
    workspace: Path | None, *, as_json: bool = False, out: TextIO | None = None
) -> int:
    """0; a missing ledger is a one-line error (exit 2 through the CLI)."""
    out = out or sys.stdout
    ws = Workspace(workspace.resolve()) if workspace else Workspace.from_settings()
    if ws.ledger_url.startswith("sqlite:///") and not Path(ws.ledger_url[10:]).exists():
        raise ConfigError(f"{ws.base}: no ledger.db here (no night has run in this workspace)")
    with Ledger(ws.ledger_url) as ledger:
        status = night_status(ledger, ws)
    print(json.dumps(status, indent=2, default=str) if as_json else render_status(status), file=out)
    return 0
