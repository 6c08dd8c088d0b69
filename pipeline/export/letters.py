"""Appeal letters: one HTML (print-ready, US Letter) and one Markdown file per worklist item.

Template per kind in ``mappings/templates``: ``appeal_<family>.html.j2`` (underpayment,
coding_bundling, medical_necessity, prior_auth, timely_filing, reconsideration, nsa, and
nsa_open_negotiation — the federal standard open negotiation notice). The Markdown copy is
made from the rendered HTML (headings, paragraphs, lists, tables), so both always say the
same. The context is built by reconciliation (``ReconcileResult.letters``; see
``mappings/templates/README.md``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from jinja2 import TemplateError
from lxml import etree

from pipeline.errors import ConfigError
from pipeline.export.templating import environment

__all__ = ["html_to_markdown", "render_letters", "write_file"]


# lxml.html's parser builds its own element classes through a Python lookup per element;
# the plain parser gives the same tree (tags, text, tails) for a fraction of the cost.
_PARSER = etree.HTMLParser()
_BLOCKS = ("h1", "h2", "p", "div", "table", "ul")


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
        write_file(html_path, text)
        md_path = out_dir / f"{stem}.md"
        write_file(md_path, html_to_markdown(text))
        written += [html_path, md_path]
    return written


def write_file(path: Path, text: str) -> None:
    """``path.write_text(text, encoding="utf-8")`` in three system calls, not seven (no
    buffered text stream around the descriptor): a night writes thousands of these files."""
    data = memoryview(text.encode("utf-8"))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        while data:
            data = data[os.write(fd, data) :]
    finally:
        os.close(fd)


def _safe(name: str) -> str:
    # PCNs are alphanumeric by the 837 rules; keep file names that way whatever arrives.
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)


def _text(element: Any) -> str:
    """Inline text of an element; ``<br>`` becomes ``\n``, ``<strong>`` bold."""
    text: str = element.text or ""
    if len(element):  # most elements are leaves: only their own text to squeeze
        parts = [text]
        for child in element:
            tag = child.tag
            if tag == "br":
                parts.append("\n")
            elif tag in ("strong", "b"):
                inner = _text(child).strip()
                parts.append(f"**{inner}**" if inner else "")
            else:
                parts.append(_text(child))
            parts.append(child.tail or "")
        text = "".join(parts)
    if "\n" not in text:
        return " ".join(text.split())
    lines = (" ".join(line.split()) for line in text.split("\n"))
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
    has_th = next(element.iter("th"), None) is not None
    head = rows[0] if has_th and rows[0] else [""] * width
    body = rows[1:] if head is rows[0] else rows
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * width]
    lines += ["| " + " | ".join(r) + " |" for r in body]
    return "\n".join(lines)


def html_to_markdown(text: str) -> str:
    """The letter's body as Markdown (the letter templates' subset of HTML)."""
    root = etree.fromstring(text, _PARSER)
    if root is None:  # as lxml.html's document_fromstring would say
        raise etree.ParserError("Document is empty")
    body = root.find("body")
    if body is None:
        return ""
    blocks: list[str] = []
    for element in body.iter(_BLOCKS):  # in document order, the other elements skipped in C
        tag = element.tag
        if tag in ("h1", "h2"):
            blocks.append(("# " if tag == "h1" else "## ") + _cell(element))
        elif tag == "p" or (tag == "div" and element.find("div") is None):
            words = _text(element).replace("\n", "  \n")  # Markdown hard line break
            if words:
                blocks.append(words)
        elif tag == "table":
            blocks.append(_table(element))
        elif tag == "ul":
            blocks.append("\n".join(f"- {_cell(li)}" for li in element.iter("li")))
    return "\n\n".join(b for b in blocks if b) + "\n"
