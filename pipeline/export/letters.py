"""Appeal letters: one HTML (print-ready) and one Markdown file per appeal worklist item.

Template per family in ``mappings/templates``: ``appeal_<family>.html.j2`` and
``appeal_<family>.md.j2`` (underpayment, medical_necessity, prior_auth, reconsideration,
nsa_open_negotiation). The context is built by reconciliation (``ReconcileResult.letters``):
``item`` (the worklist row), ``claim``, ``payer``, ``remit``, ``lines`` (each with the CARC/RARC
in words and the expected-amount basis), ``nsa`` (the clock), ``practice``, ``as_of``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import TemplateError

from pipeline.errors import ConfigError
from pipeline.export.templating import environment

__all__ = ["render_letters"]


def render_letters(result: Any, out_dir: Path, templates: Path | None = None) -> list[Path]:
    """Write ``<appeal_id>.html`` and ``<appeal_id>.md`` for every worklist item."""
    env = environment(templates)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for context in result.letters:
        family = context["family"]
        stem = _safe(context["item"]["appeal_id"])
        for ext in ("html", "md"):
            name = f"appeal_{family}.{ext}.j2"
            try:
                text = env.get_template(name).render(**context)
            except TemplateError as exc:
                raise ConfigError(f"mappings/templates/{name}: {exc}") from exc
            path = out_dir / f"{stem}.{ext}"
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


def _safe(name: str) -> str:
    # PCNs are alphanumeric by the 837 rules; keep file names that way whatever arrives.
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)
