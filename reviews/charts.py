"""Charts as server-side SVG: no script, no CDN, no inline style (the CSP forbids both), and the same
markup works on a page and in a WeasyPrint PDF.

Each chart is one function returning safe SVG markup. Colours and fonts are presentation attributes,
not CSS, so a PDF needs no stylesheet; every bar carries its number as text, so colour is never the
only way to read a value (WCAG 1.4.1), and the pages show the same figures in a table next to the
chart. Element ids derive from the chart's content, so the same figures give byte-identical SVG
(PDFs are cached by the hash of their HTML, portal/pdf.py).
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

Number = int | float | Decimal
Format = Callable[[Number], str]

# Dark enough for white text and for 3:1 against white (WCAG 1.4.11), distinct in greyscale order.
PALETTE = ("#1a5fb4", "#a4161a", "#1b6b35", "#8a5300", "#5e3c99", "#00707a", "#4d4d4d")
INK, MUTED, GRID = "#1d1d1f", "#555555", "#d8d8d8"
FONT = "Noto Sans CJK SC, Source Han Sans SC, PingFang SC, Microsoft YaHei, sans-serif"
FONT_SIZE = 13


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[Number]
    color: str = ""


def plain(value: Number) -> str:
    if isinstance(value, float | Decimal) and value != int(value):
        return f"{value:.1f}"
    return str(int(value))


def wan(value: Number) -> str:
    """Yuan shown in 万元 (ten thousands), one decimal: how bureau tables state money."""
    return f"{Decimal(value) / 10000:.1f}"


def _text_width(text: str, size: int = FONT_SIZE) -> float:
    # CJK glyphs are square; Latin digits and letters about half as wide.
    return sum(size if ord(c) > 0x2E80 else size * 0.6 for c in text)


def _svg(width: float, height: float, title: str, desc: str, body: list[str]) -> SafeString:
    ident = "chart-" + hashlib.sha256(f"{title}\n{desc}\n{''.join(body)}".encode()).hexdigest()[:10]
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width:.0f}" '
            f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
            f'aria-labelledby="{ident}-t {ident}-d" font-family="{FONT}" font-size="{FONT_SIZE}" fill="{INK}">'
            f'<title id="{ident}-t">{escape(title)}</title><desc id="{ident}-d">{escape(desc)}</desc>')
    # Every text piece went through escape() above; numbers and colours are ours.
    return mark_safe(head + "".join(body) + "</svg>")


def _label(x: float, y: float, text: str, *, anchor: str = "start", color: str = INK, size: int = FONT_SIZE,
           weight: str = "") -> str:
    bold = f' font-weight="{weight}"' if weight else ""
    fill = f' fill="{color}"' if color != INK else ""
    sized = f' font-size="{size}"' if size != FONT_SIZE else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{fill}{sized}{bold}>{escape(text)}</text>'


def _nice_max(value: float) -> float:
    """A round axis maximum at or above `value` (1, 2, 2.5, 5 × 10ⁿ)."""
    if value <= 0:
        return 1
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude  # pragma: no cover


def hbar(items: Sequence[tuple[str, Number]], *, title: str, unit: str = "", fmt: Format = plain,
         width: int = 640, color: str = PALETTE[0]) -> SafeString:
    """Horizontal bars, one per item, longest first as given; the number at the end of each bar."""
    rows = list(items)
    bar_h, gap, top = 22, 8, 6
    label_w = min(220.0, max((_text_width(label) for label, _v in rows), default=40) + 12)
    value_w = max((_text_width(fmt(v) + unit) for _l, v in rows), default=20) + 10
    plot_w = max(80.0, width - label_w - value_w)
    biggest = max((float(v) for _l, v in rows), default=0) or 1
    body = []
    for i, (label, value) in enumerate(rows):
        y = top + i * (bar_h + gap)
        length = plot_w * float(value) / biggest
        shown = label if _text_width(label) <= label_w - 12 else label[: int((label_w - 24) / FONT_SIZE)] + "…"
        body.append(_label(label_w - 8, y + bar_h * 0.72, shown, anchor="end"))
        body.append(f'<rect x="{label_w:.1f}" y="{y}" width="{max(length, 1 if value else 0):.1f}" height="{bar_h}" '
                    f'fill="{color}" rx="2"><title>{escape(label)}：{escape(fmt(value) + unit)}</title></rect>')
        body.append(_label(label_w + length + 6, y + bar_h * 0.72, fmt(value) + unit))
    height = top * 2 + len(rows) * (bar_h + gap)
    desc = "；".join(f"{label} {fmt(value)}{unit}" for label, value in rows)
    return _svg(width, max(height, 30), title, desc, body)


def columns(categories: Sequence[str], series: Sequence[Series], *, title: str, unit: str = "",
            fmt: Format = plain, stacked: bool = False, width: int = 640, height: int = 260) -> SafeString:
    """Vertical columns per category (e.g. per year), several series side by side or stacked, with a
    legend, a scaled axis and the number on each column (or each stack) where it fits."""
    cats = list(categories)
    colors = [s.color or PALETTE[i % len(PALETTE)] for i, s in enumerate(series)]
    legend_h = 24 if len(series) > 1 else 0
    left, right, top, bottom = 48.0, 8.0, 10.0 + legend_h, 28.0
    plot_w, plot_h = width - left - right, height - top - bottom
    if stacked:
        peak = max((sum(float(s.values[i]) for s in series) for i in range(len(cats))), default=0)
    else:
        peak = max((float(v) for s in series for v in s.values), default=0)
    axis_max = _nice_max(peak)
    body: list[str] = []
    x = left
    for i, s in enumerate(series if legend_h else []):
        body.append(f'<rect x="{x:.1f}" y="6" width="12" height="12" fill="{colors[i]}"/>')
        body.append(_label(x + 16, 17, s.name))
        x += 16 + _text_width(s.name) + 18
    for k in range(5):
        value = axis_max * k / 4
        y = top + plot_h - plot_h * k / 4
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="{GRID}"/>')
        body.append(_label(left - 6, y + 4, fmt(value), anchor="end", color=MUTED, size=11))
    slot = plot_w / max(len(cats), 1)
    groups = 1 if stacked else max(len(series), 1)
    bar_w = min(48.0, slot * 0.8 / groups)
    for i, cat in enumerate(cats):
        x0 = left + slot * i + (slot - bar_w * groups) / 2
        base = top + plot_h
        for j, s in enumerate(series):
            value = float(s.values[i])
            h = plot_h * value / axis_max
            x = x0 if stacked else x0 + j * bar_w
            y = base - h
            tip = f"{cat} {s.name}：{fmt(s.values[i])}{unit}"
            body.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{colors[j]}">'
                        f'<title>{escape(tip)}</title></rect>')
            if value and not stacked and _text_width(fmt(s.values[i]), 11) <= bar_w + 6:
                body.append(_label(x + bar_w / 2, y - 3, fmt(s.values[i]), anchor="middle", size=11))
            if stacked:
                base = y
        if stacked:
            total = sum(float(s.values[i]) for s in series)
            if total:
                body.append(_label(x0 + bar_w / 2, base - 3, fmt(total), anchor="middle", size=11))
        body.append(_label(left + slot * i + slot / 2, height - 9, cat, anchor="middle", color=MUTED, size=12))
    desc = "；".join(f"{cat}：" + "，".join(f"{s.name} {fmt(s.values[i])}{unit}" for s in series)
                    for i, cat in enumerate(cats))
    return _svg(width, height, title, desc, body)


def funnel(steps: Sequence[tuple[str, int, str]], *, title: str, width: int = 640) -> SafeString:
    """The review funnel: one centred bar per step, as wide as the number that reached it, with what
    fell out of the step written beside it. `steps` = (label, number, note)."""
    rows = list(steps)
    bar_h, gap = 30, 10
    label_w = min(160.0, max((_text_width(label) for label, _n, _note in rows), default=40) + 12)
    # The notes say why applications fell out: never cut short; a long one widens the chart instead.
    note_w = max((_text_width(note, 12) for _l, _n, note in rows), default=0) + 12
    plot_w = max(200.0, width - label_w - note_w)
    width = int(label_w + plot_w + note_w)
    biggest = max((n for _l, n, _note in rows), default=0) or 1
    body = []
    for i, (label, n, note) in enumerate(rows):
        y = 6 + i * (bar_h + gap)
        w = max(plot_w * n / biggest, 2 if n else 0)
        x = label_w + (plot_w - w) / 2
        color = PALETTE[2] if i == len(rows) - 1 else PALETTE[0]
        body.append(_label(label_w - 8, y + bar_h * 0.68, label, anchor="end"))
        body.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{color}" rx="2">'
                    f'<title>{escape(label)}：{n}</title></rect>')
        inside = _text_width(str(n)) + 8 <= w
        body.append(_label(label_w + plot_w / 2 if inside else x + w + 6, y + bar_h * 0.68, str(n),
                           anchor="middle" if inside else "start", color="#ffffff" if inside else INK,
                           weight="bold"))
        if note:
            body.append(_label(label_w + plot_w + 8, y + bar_h * 0.68, note, color=MUTED, size=12))
    height = 12 + len(rows) * (bar_h + gap)
    desc = "；".join(f"{label} {n}" + (f"（{note}）" if note else "") for label, n, note in rows)
    return _svg(width, height, title, desc, body)
