"""Small server-rendered SVG charts: readable without JavaScript, no chart library.

Each chart is an ``<svg role="img">`` with a ``<title>`` and ``<desc>`` and every value
also written as text beside its bar, so a screen reader (or a printout) loses nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

BAR = "#1f5f99"
BAR_2 = "#7a4a00"
INK = "#1a1a1a"
GRID = "#c8c8c8"
_ROW = 22
_VALUE_W = 70
_FONT = 'font-family="system-ui, sans-serif" font-size="12"'


_CHAR_W = 6.8  # average width of a 12 px system-font character, for laying out labels


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _label_width(labels: Sequence[str], width: int) -> tuple[int, int]:
    """Pixels for the label column (up to 55 % of the chart) and characters that fit in it."""
    longest = max((len(label) for label in labels), default=0)
    pixels = int(min(longest * _CHAR_W + 12, width * 0.55))
    return pixels, max(8, round((pixels - 12) / _CHAR_W))


def hbar_chart(
    items: Sequence[tuple[str, float]],
    *,
    title: str,
    width: int = 560,
    fmt: str = "{:.2f}",
    colour: str = BAR,
) -> Markup:
    """Horizontal bars, one per ``(label, value)``; negative values are drawn as zero."""
    if not items:
        return Markup("")
    top = max((v for _, v in items), default=0.0) or 1.0
    label_w, fits = _label_width([label for label, _ in items], width)
    plot = width - label_w - _VALUE_W
    height = _ROW * len(items) + 8
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" {_FONT}>',
        f"<title>{escape(title)}</title>",
        "<desc>"
        + escape("; ".join(f"{label}: {fmt.format(value)}" for label, value in items))
        + "</desc>",
    ]
    for i, (label, value) in enumerate(items):
        y = 4 + i * _ROW
        length = max(0.0, value) / top * plot
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" fill="{INK}">'
            f"{escape(_clip(label, fits))}</text>"
            f'<rect x="{label_w}" y="{y + 3}" width="{length:.1f}" height="{_ROW - 8}" '
            f'fill="{colour}"/>'
            f'<text x="{label_w + length + 4:.1f}" y="{y + 15}" fill="{INK}">'
            f"{escape(fmt.format(value))}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def grouped_hbar_chart(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    title: str,
    width: int = 620,
    fmt: str = "{:,.0f}",
) -> Markup:
    """Two (or more) bars per label, e.g. hits in the last 30 and 90 days, with a legend."""
    if not labels or not series:
        return Markup("")
    colours = (BAR, BAR_2, "#2e7d32", "#6a1b9a")
    top = max((v for _, values in series for v in values), default=0.0) or 1.0
    label_w, fits = _label_width(labels, width)
    plot = width - label_w - _VALUE_W
    bar_h = 12
    group_h = bar_h * len(series) + 10
    legend_h = 22
    height = legend_h + group_h * len(labels) + 6
    desc = "; ".join(
        f"{label}: " + ", ".join(f"{name} {fmt.format(values[i])}" for name, values in series)
        for i, label in enumerate(labels)
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" {_FONT}>',
        f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>",
    ]
    x = label_w
    for k, (name, _) in enumerate(series):
        parts.append(
            f'<rect x="{x}" y="5" width="12" height="12" fill="{colours[k % len(colours)]}"/>'
            f'<text x="{x + 16}" y="15" fill="{INK}">{escape(name)}</text>'
        )
        x += 30 + 7 * len(name)
    for i, label in enumerate(labels):
        y0 = legend_h + i * group_h
        parts.append(
            f'<text x="{label_w - 6}" y="{y0 + group_h / 2 + 2:.1f}" text-anchor="end" '
            f'fill="{INK}">{escape(_clip(label, fits))}</text>'
        )
        for k, (_, values) in enumerate(series):
            value = values[i]
            y = y0 + 3 + k * bar_h
            length = max(0.0, value) / top * plot
            parts.append(
                f'<rect x="{label_w}" y="{y}" width="{length:.1f}" height="{bar_h - 2}" '
                f'fill="{colours[k % len(colours)]}"/>'
                f'<text x="{label_w + length + 4:.1f}" y="{y + 9}" fill="{INK}" '
                f'font-size="10">{escape(fmt.format(value))}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(
    xs: Sequence[float],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    title: str,
    x_label: str,
    y_max: float = 1.0,
    baseline: tuple[str, float] | None = None,
    width: int = 720,
    height: int = 340,
) -> Markup:
    """Lines with point markers over ``xs`` (e.g. precision and recall by inspection rate)."""
    if not xs or not series:
        return Markup("")
    colours = (BAR, BAR_2, "#2e7d32")
    left, right, top_pad, bottom = 48, 16, 30, 44
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    x_min, x_max = min(xs), max(xs)
    span = (x_max - x_min) or 1.0

    def px(x: float) -> float:
        return left + (x - x_min) / span * plot_w

    def py(y: float) -> float:
        return top_pad + plot_h - min(max(y, 0.0), y_max) / y_max * plot_h

    desc = "; ".join(
        f"{name}: " + ", ".join(f"{x:g}→{y:.2f}" for x, y in zip(xs, ys, strict=False))
        for name, ys in series
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" {_FONT}>',
        f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>",
    ]
    for tick in range(6):
        value = y_max * tick / 5
        y = py(value)
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{INK}">'
            f"{value:.1f}</text>"
        )
    last_tick = -1e9
    for x in xs:
        if px(x) - last_tick < 22:  # crowded ticks (0.5, 1, 2 ...) would overprint
            continue
        last_tick = px(x)
        parts.append(
            f'<text x="{px(x):.1f}" y="{height - bottom + 16}" text-anchor="middle" '
            f'fill="{INK}" font-size="10">{x:g}</text>'
        )
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 8}" text-anchor="middle" '
        f'fill="{INK}">{escape(x_label)}</text>'
    )
    if baseline is not None:
        name, value = baseline
        y = py(value)
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#555" '
            f'stroke-dasharray="4 3"/>'
            f'<text x="{left + 6}" y="{y - 6:.1f}" text-anchor="start" fill="#333" '
            f'font-size="11">{escape(name)} {value:.3f}</text>'
        )
    legend_x = left
    for k, (name, ys) in enumerate(series):
        colour = colours[k % len(colours)]
        points = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in zip(xs, ys, strict=False))
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>'
        )
        for x, y in zip(xs, ys, strict=False):
            parts.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{colour}"/>')
        parts.append(
            f'<rect x="{legend_x}" y="8" width="12" height="12" fill="{colour}"/>'
            f'<text x="{legend_x + 16}" y="18" fill="{INK}">{escape(name)}</text>'
        )
        legend_x += 40 + 7 * len(name)
    parts.append("</svg>")
    return Markup("".join(parts))
