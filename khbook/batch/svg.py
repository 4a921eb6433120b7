"""Inline SVG charts for the HTML report: no JavaScript, no fonts or files to fetch.

Every label is escaped here; the result is a :class:`markupsafe.Markup` the template can
embed as is.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

PALETTE = ("#2F6DB5", "#E07B39", "#3B9C5A", "#C44E52", "#8172B3", "#937860", "#DA8BC3", "#8C8C8C", "#CCB974", "#64B5CD")


def bar_chart(items: Sequence[tuple[str, float]], *, title: str, width: int = 420, bar_h: int = 22,
              max_value: float | None = None, fmt: Callable[[float], str] = "{:g}".format) -> Markup:
    """A horizontal bar chart: one bar per (label, value), value written (by `fmt`) at the bar's end."""
    pad, top = 8, 28
    label_w = min(220, max(60, 12 + max((_text_px(label) for label, _ in items), default=0)))
    height = top + max(1, len(items)) * (bar_h + pad) + pad
    scale_max = max_value if max_value is not None else max((v for _, v in items), default=0) or 1
    plot_w = width - label_w - 60
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-label="{escape(title)}">',
        f'<title>{escape(title)}</title>',
        f'<text x="0" y="18" class="chart-title">{escape(title)}</text>',
    ]
    for i, (label, value) in enumerate(items):
        y = top + i * (bar_h + pad)
        w = max(0.0, min(1.0, value / scale_max)) * plot_w if scale_max else 0
        colour = PALETTE[i % len(PALETTE)]
        shown = fmt(value)
        parts.append(f'<text x="{label_w - 6}" y="{y + bar_h * 0.7:.1f}" text-anchor="end" class="chart-label">{escape(label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{colour}" rx="2">'
                     f'<title>{escape(label)}: {escape(shown)}</title></rect>')
        parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y + bar_h * 0.7:.1f}" class="chart-value">{escape(shown)}</text>')
    if not items:
        parts.append(f'<text x="{label_w}" y="{top + bar_h * 0.7:.1f}" class="chart-label">-</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _text_px(text: str) -> int:
    """Approximate width of `text` at 12 px: wide (CJK) characters 12 px, others 7 px."""
    return sum(12 if unicodedata.east_asian_width(ch) in ("W", "F") else 7 for ch in text)
