"""Appeal letters: one HTML (print-ready, US Letter) and one Markdown file per worklist item.

Template per kind in ``mappings/templates``: ``appeal_<family>.html.j2`` (underpayment,
coding_bundling, medical_necessity, prior_auth, timely_filing, reconsideration, nsa, and
nsa_open_negotiation — the federal standard open negotiation notice). The Markdown copy is
made from the rendered HTML (headings, paragraphs, lists, tables), so both always say the
same. The context is built by reconciliation (``ReconcileResult.letters``; see
``mappings/templates/README.md``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import TemplateError
from lxml import html as lxml_html

from pipeline.errors import ConfigError
from pipeline.export.templating import environment

__all__ = ["html_to_markdown", "render_letters"]


def render_letters(result: Any, out_dir: Path, templates: Path | None = None) -> list[Path]:
    """Write ``<appeal_id>.html`` and ``<appeal_id>.md`` for every worklist item."""
    env = environment(templates)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for context in result.letters:
        name = f"appeal_{context['family']}.html.j2"
        try:
            text = env.get_template(name).render(**context)
        except TemplateError as exc:
            raise ConfigError(f"mappings/templates/{name}: {exc}") from exc
        stem = _safe(context["item"]["appeal_id"])
        html_path = out_dir / f"{stem}.html"
        html_path.write_text(text, encoding="utf-8")
        md_path = out_dir / f"{stem}.md"
        md_path.write_text(html_to_markdown(text), encoding="utf-8")
        written += [html_path, md_path]
    return written


def _safe(name: str) -> str:
    # PCNs are alphanumeric by the 837 rules; keep file names that way whatever arrives.
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)


def _text(element: Any) -> str:
    """Inline text of an element; ``<br>`` becomes ``\n``, ``<strong>`` bold."""
    parts: list[str] = [element.text or ""]
    for child in element:
        inner = _text(child)
        if child.tag == "br":
            parts.append("\n")
        elif child.tag in ("strong", "b"):
            parts.append(f"**{inner.strip()}**" if inner.strip() else "")
        else:
            parts.append(inner)
        parts.append(child.tail or "")
    lines = (" ".join(line.split()) for line in "".join(parts).split("\n"))
    return "\n".join(line for line in lines if line)


def _cell(element: Any) -> str:
    return _text(element).replace("\n", "; ").replace("|", "/")


def _table(element: Any) -> str:
    rows = [[_cell(c) for c in tr if c.tag in ("th", "td")] for tr in element.iter("tr")]
    rows = [r for r in rows if r]
    if not rows:
        return ""
    width = max(len(r) for r in rows)
    rows = [r + [""] * (width - len(r)) for r in rows]
    head = rows[0] if element.find(".//th") is not None and rows[0] else [""] * width
    body = rows[1:] if head is rows[0] else rows
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * width]
    lines += ["| " + " | ".join(r) + " |" for r in body]
    return "\n".join(lines)


def html_to_markdown(text: str) -> str:
    """The letter's body as Markdown (the letter templates' subset of HTML)."""
    body = lxml_html.document_fromstring(text).find("body")
    if body is None:
        return ""
    blocks: list[str] = []
    for element in body.iter():
        if element.tag in ("h1", "h2"):
            blocks.append(("# " if element.tag == "h1" else "## ") + _cell(element))
        elif element.tag == "p" or (element.tag == "div" and element.find("div") is None):
            words = _text(element).replace("\n", "  \n")  # Markdown hard line break
            if words:
                blocks.append(words)
        elif element.tag == "table":
            blocks.append(_table(element))
        elif element.tag == "ul":
            blocks.append("\n".join(f"- {_cell(li)}" for li in element.iter("li")))
    return "\n\n".join(b for b in blocks if b) + "\n"
