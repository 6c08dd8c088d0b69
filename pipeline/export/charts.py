"""Inline SVG charts for the report (no scripts, no CDN): horizontal grouped and stacked bars.

Geometry is computed in ``Decimal`` too (pixels per dollar), so no amount passes through a float.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape

__all__ = ["PALETTE", "Series", "grouped_bars", "money", "stacked_bars"]

PALETTE = ("#1f5f99", "#e07b39", "#3a9a5b", "#b8434a", "#7a5ba8", "#8c8c8c")
_FONT = "font-family='Helvetica, Arial, sans-serif'"


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[Decimal]
    color: str


def money(value: Decimal | float | int | None) -> str:
    if value is None:
        return ""
    amount = Decimal(str(value))
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"


_NONE = Decimal(0)


def _scale(maximum: Decimal, width: int) -> Decimal:
    """Pixels per dollar."""
    return Decimal(width) / maximum if maximum > 0 else _NONE


def _legend(series: Sequence[Series], x: int, y: int) -> list[str]:
    parts = []
    for i, s in enumerate(series):
        lx = x + i * 170
        parts.append(f"<rect x='{lx}' y='{y - 10}' width='12' height='12' fill='{s.color}'/>")
        label = escape(s.name)
        parts.append(
            f"<text x='{lx + 18}' y='{y}' font-size='12' {_FONT} fill='#333'>{label}</text>"
        )
    return parts


def _empty(title: str, width: int) -> str:
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='60' role='img' "
        f"aria-label='{escape(title)}'><text x='10' y='35' font-size='14' {_FONT} "
        f"fill='#666'>{escape(title)}: nothing to show</text></svg>"
    )


def grouped_bars(
    title: str, categories: Sequence[str], series: Sequence[Series], width: int = 560
) -> str:
    """One row per category, one bar per series, amounts written at the bar ends."""
    if not categories:
        return _empty(title, width)
    label_w, bar_h, gap, top = 120, 16, 14, 34
    plot_w = width - label_w - 110
    peak = max((v for s in series for v in s.values), default=Decimal(0))
    k = _scale(peak, plot_w)
    group_h = bar_h * len(series) + gap
    height = top + group_h * len(categories) + 10
    out = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' role='img' "
        f"aria-label='{escape(title)}'>",
        *_legend(series, label_w, 16),
    ]
    for i, cat in enumerate(categories):
        y0 = top + i * group_h
        out.append(
            f"<text x='{label_w - 8}' y='{y0 + bar_h * len(series) / 2 + 4}' text-anchor='end' "
            f"font-size='12' {_FONT} fill='#222'>{escape(cat)}</text>"
        )
        for j, s in enumerate(series):
            v = s.values[i]
            w = max(v * k, _NONE)
            y = y0 + j * bar_h
            out.append(
                f"<rect x='{label_w}' y='{y}' width='{w:.1f}' height='{bar_h - 3}' "
                f"fill='{s.color}'><title>{escape(s.name)} {cat}: {money(v)}</title></rect>"
            )
            out.append(
                f"<text x='{label_w + w + 4:.1f}' y='{y + bar_h - 5}' font-size='11' {_FONT} "
                f"fill='#333'>{money(v)}</text>"
            )
    out.append("</svg>")
    return "".join(out)


def stacked_bars(
    title: str, categories: Sequence[str], series: Sequence[Series], width: int = 560
) -> str:
    """One bar per category made of the series stacked left to right, total at the end."""
    if not categories:
        return _empty(title, width)
    label_w, bar_h, gap, top = 120, 22, 10, 34
    plot_w = width - label_w - 100
    totals = [sum((s.values[i] for s in series), Decimal(0)) for i in range(len(categories))]
    k = _scale(max(totals, default=Decimal(0)), plot_w)
    legend_rows = (len(series) + 2) // 3
    top += (legend_rows - 1) * 18
    height = top + (bar_h + gap) * len(categories) + 10
    out = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' role='img' "
        f"aria-label='{escape(title)}'>"
    ]
    for row in range(legend_rows):
        out += _legend(series[row * 3 : row * 3 + 3], label_w, 16 + row * 18)
    for i, cat in enumerate(categories):
        y = top + i * (bar_h + gap)
        out.append(
            f"<text x='{label_w - 8}' y='{y + bar_h / 2 + 4}' text-anchor='end' font-size='12' "
            f"{_FONT} fill='#222'>{escape(cat)}</text>"
        )
        x = Decimal(label_w)
        for s in series:
            v = s.values[i]
            w = max(v * k, _NONE)
            if w > 0:
                out.append(
                    f"<rect x='{x:.1f}' y='{y}' width='{w:.1f}' height='{bar_h}' "
                    f"fill='{s.color}'><title>{escape(s.name)}: {money(v)}</title></rect>"
                )
            x += w
        out.append(
            f"<text x='{x + 4:.1f}' y='{y + bar_h / 2 + 4}' font-size='11' {_FONT} "
            f"fill='#333'>{money(totals[i])}</text>"
        )
    out.append("</svg>")
    return "".join(out)
